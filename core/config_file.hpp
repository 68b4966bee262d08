#pragma once
// Reading a vassal file's bytes, bounded, from whatever the name points to.
// The name is followed if it is a symlink (deploy tools swap them), but only
// a regular file is opened: a FIFO would block the reader forever, a device
// such as /dev/zero never ends, and opening some devices has effects.
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"

namespace suz {

// A vassal file is short; anything longer is a mistake, not a config.
inline constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;

// The whole file, or an issue naming it: not a regular file, unreadable
// (with its errno's text), or over the limit (positioned at the first byte
// past it). Never blocks on the file's kind: the open is O_NONBLOCK and made
// only after stat(2) says it is a regular file, and fstat(2) checks again.
// owner, if given, receives the file's owner (as fstat(2) saw it).
struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<std::string, ConfigIssue> read_config_file(const std::filesystem::path& file,
                                                  std::size_t limit = kMaxConfigFileBytes, FileOwner* owner = nullptr);

}  // namespace suz
