#pragma once
// Case-insensitive comparison for HTTP header names and tokens (ASCII).
#include <strings.h>

#include <string_view>

namespace suz {

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Without leading and trailing spaces and tabs (HTTP's OWS).
inline std::string_view ows_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn with each element of a comma-separated field value ("gzip,
// chunked"), trimmed, empty ones skipped, until fn returns true; returns
// whether it did.
template <class Fn>
bool for_each_list_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (std::string_view element = ows_trimmed(list.substr(0, comma)); !element.empty() && fn(element)) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return false;
}

}  // namespace suz
