#include "spooler/job_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace fs = std::filesystem;

namespace suz::job_files {

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path, int err) {
  throw std::system_error(err, std::generic_category(), what + " " + path.string());
}

Fd open_dir(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail_errno("open", path);
  return fd;
}

// Job files hold whatever the app put in them: readable by their owner only.
Fd write_file(const fs::path& path, const std::string& bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) fail_errno("create", path);
  if (!write_all(fd.get(), bytes.data(), bytes.size())) {
    int err = errno;
    ::unlink(path.c_str());
    fail_errno("write", path, err);
  }
  return fd;
}

Fd overwrite_file(const fs::path& path, const std::string& bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fd;
  // Written from the start, then cut to length: the blocks the file has are
  // reused, so a push allocates nothing when the new job is no bigger.
  if (!write_all(fd.get(), bytes.data(), bytes.size()) ||
      ::ftruncate(fd.get(), static_cast<off_t>(bytes.size())) < 0)
    return Fd();
  return fd;
}

std::optional<std::string> read_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  // Most jobs fit one read; a read of a regular file that returns less than
  // asked for has reached the end, so no second read to find it.
  std::string bytes(16 * 1024, '\0');
  std::size_t have = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), bytes.data() + have, bytes.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    have += static_cast<std::size_t>(n);
    if (have < bytes.size()) break;
    bytes.resize(bytes.size() * 2);
  }
  bytes.resize(have);
  return bytes;
}

// The job files of a directory (names that parse), sorted in run order.
std::vector<std::pair<JobName, fs::path>> jobs_in(const fs::path& dir, std::vector<fs::path>* strangers) {
  std::vector<std::pair<JobName, fs::path>> jobs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string file = e.path().filename().string();
    if (auto n = JobName::parse(file)) jobs.emplace_back(*n, e.path());
    else if (strangers && !file.ends_with(".error")) strangers->push_back(e.path());
  }
  // A job's file name is its JobName::str(), which sorts in run order.
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.second.filename() < b.second.filename(); });
  return jobs;
}

}  // namespace suz::job_files
