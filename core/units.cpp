#include "core/units.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

namespace suz {
namespace {

struct Unit {
  std::string_view name;
  double factor;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "1.5GiB" into 1.5 and "GiB". Only plain decimal numbers: no sign,
// no exponent, no hex, so "-1s" and "1e3" are errors rather than surprises.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view s) {
  std::size_t i = 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return std::nullopt;
  double value = std::stod(std::string(s.substr(0, i)));
  return std::pair{value, trim(s.substr(i))};
}

template <std::size_t N>
Result<double> parse_with_units(std::string_view text, const std::array<Unit, N>& units,
                                double bare_factor, std::string_view kind,
                                std::string_view examples) {
  std::string_view s = trim(text);
  auto bad = [&] {
    return unexpected("invalid " + std::string(kind) + " \"" + std::string(text) +
                      "\" (expected e.g. " + std::string(examples) + ")");
  };
  auto split = split_number(s);
  if (!split) return bad();
  auto [number, unit] = *split;
  double factor = bare_factor;
  if (!unit.empty()) {
    std::string u = lower(unit);
    auto it = std::find_if(units.begin(), units.end(), [&](const Unit& x) { return x.name == u; });
    if (it == units.end()) return bad();
    factor = it->factor;
  }
  double result = number * factor;
  if (!std::isfinite(result) || result >= 9.2e18) return bad();
  return result;
}

constexpr std::array<Unit, 14> kDurationUnits{{
    {"ms", 1.0}, {"s", 1e3}, {"sec", 1e3}, {"m", 60e3}, {"min", 60e3},
    {"h", 3600e3}, {"hour", 3600e3}, {"hours", 3600e3}, {"d", 86400e3}, {"day", 86400e3},
    {"days", 86400e3}, {"secs", 1e3}, {"mins", 60e3}, {"msec", 1.0},
}};

constexpr double kKi = 1024.0;
constexpr std::array<Unit, 17> kSizeUnits{{
    {"b", 1.0},
    {"k", kKi}, {"kb", kKi}, {"kib", kKi},
    {"m", kKi * kKi}, {"mb", kKi * kKi}, {"mib", kKi * kKi},
    {"g", kKi * kKi * kKi}, {"gb", kKi * kKi * kKi}, {"gib", kKi * kKi * kKi},
    {"t", kKi * kKi * kKi * kKi}, {"tb", kKi * kKi * kKi * kKi}, {"tib", kKi * kKi * kKi * kKi},
    {"bytes", 1.0}, {"byte", 1.0}, {"kilobytes", kKi}, {"megabytes", kKi * kKi},
}};

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto ms = parse_with_units(text, kDurationUnits, 1e3, "duration", "\"500ms\", \"2s\", \"1h\" or 30");
  if (!ms) return unexpected(ms.error());
  return Duration(static_cast<Duration::rep>(std::llround(*ms)));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  auto bytes = parse_with_units(text, kSizeUnits, 1.0, "size", "\"512MB\", \"64KB\" or 1048576");
  if (!bytes) return unexpected(bytes.error());
  return static_cast<std::uint64_t>(std::llround(*bytes));
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  constexpr std::array<std::pair<long long, const char*>, 5> parts{{
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}}};
  for (auto [size, name] : parts) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::array<const char*, 5> names{"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t i = 0;
  while (v >= 1024.0 && i + 1 < names.size()) {
    v /= 1024.0;
    ++i;
  }
  char buf[32];
  if (i == 0 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f%s", v, names[i]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, names[i]);
  return buf;
}

}  // namespace suz
