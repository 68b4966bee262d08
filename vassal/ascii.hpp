#pragma once
// Case-insensitive comparison for HTTP header names and tokens (ASCII).
#include <strings.h>

#include <string_view>

namespace suz {

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace suz
