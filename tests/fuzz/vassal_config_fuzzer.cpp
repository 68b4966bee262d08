// Fuzzes the vassal config loader: any text is either a config or a list of
// at most kMaxConfigIssues issues (and a count of the rest), never a crash or
// an exception. Inputs go up to the 1 MiB a vassal file may have.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = suz::parse_vassal_config(text, "fuzz.toml");
  if (!result) {
    if (result.error().empty()) std::abort();  // a failure must say why
    if (result.error().size() > suz::kMaxConfigIssues + 1) std::abort();  // and not flood the log
    for (const auto& issue : result.error())
      if (issue.message.empty()) std::abort();
  }
  return 0;
}
