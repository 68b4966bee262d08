#include "core/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/fd.hpp"
#include "core/units.hpp"

namespace suz {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

ConfigIssue whole_file(const std::filesystem::path& file, std::string message) {
  return ConfigIssue{file.string(), 0, 0, "", std::move(message)};
}

ConfigIssue not_regular(const std::filesystem::path& file, mode_t mode) {
  return whole_file(file, std::string("is ") + kind_of(mode) + ", not a vassal file (only a regular file is read)");
}

ConfigIssue cannot_read(const std::filesystem::path& file, int err) {
  return whole_file(file, std::string("cannot read: ") + std::strerror(err));
}

}  // namespace

Result<std::string, ConfigIssue> read_config_file(const std::filesystem::path& file, std::size_t limit,
                                                  FileOwner* owner) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return unexpected(cannot_read(file, errno));
  if (!S_ISREG(st.st_mode)) return unexpected(not_regular(file, st.st_mode));
  Fd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return unexpected(cannot_read(file, errno));
  // The name may have been swapped for something else between the two calls.
  if (::fstat(fd.get(), &st) != 0) return unexpected(cannot_read(file, errno));
  if (!S_ISREG(st.st_mode)) return unexpected(not_regular(file, st.st_mode));
  if (owner) *owner = FileOwner{st.st_uid, st.st_gid};

  // One byte past the limit tells an over-long file from one just at it,
  // even if it grows while being read.
  std::string text;
  text.resize(std::min<std::size_t>(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)), limit) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > limit) break;
      text.resize(std::min(limit + 1, text.size() * 2));
    }
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected(cannot_read(file, errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > limit) {
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(limit), '\n'));
    std::size_t line_start = text.rfind('\n', limit - 1);
    int column = static_cast<int>(limit - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
    return unexpected(ConfigIssue{file.string(), line, column, "",
                                  "the file is longer than " + format_size(limit) +
                                      ", the most a vassal file may be; nothing of it was loaded"});
  }
  text.resize(got);
  return text;
}

}  // namespace suz
