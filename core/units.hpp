#pragma once
// Durations and sizes as users write them in config files and on command
// lines. Durations: "500ms", "2s", "1.5m", "1h", "1d", or a bare number of
// seconds. Sizes: "512MB", "64K", "1GiB", or a bare number of bytes; every
// unit is a power of 1024 (as systemd's MemoryMax), so "512MB" == "512MiB".
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace suz {

using Duration = std::chrono::milliseconds;

Result<Duration> parse_duration(std::string_view text);
// As libev wants it.
inline double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
Result<std::uint64_t> parse_size(std::string_view text);

// The shortest exact spelling: "1h", "1m30s", "250ms", "0s".
std::string format_duration(Duration d);
// "512MiB", "1.5GiB", "100B".
std::string format_size(std::uint64_t bytes);

}  // namespace suz
