#include "vassal/access_log.hpp"

#include <fcntl.h>
#include <limits.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.hpp"

namespace suz {
namespace {

Result<Fd> open_target(const std::string& target) {
  if (target == "stderr" || target == "stdout") return Fd();
  int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return unexpected("cannot open the request log " + escaped(target) + ": " + std::strerror(errno));
  return Fd(fd);
}

}  // namespace

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& target, AccessFormat format) {
  auto file = open_target(target);
  if (!file) return unexpected(file.error());
  return std::unique_ptr<AccessLog>(new AccessLog(target, std::move(format), std::move(*file)));
}

AccessLog::AccessLog(std::string target, AccessFormat format, Fd file)
    : target_(std::move(target)), format_(std::move(format)), file_(std::move(file)) {
  fd_ = file_ ? file_.get() : target_ == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
  struct stat st {};
  pipe_like_ = ::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode);
}

void AccessLog::record(const Served& s, int worker, pid_t pid) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (buffer_.empty()) oldest_ = std::chrono::steady_clock::now();
  append_access_line(buffer_, format_, s, worker, pid);
}

bool AccessLog::write_due(std::chrono::steady_clock::time_point now) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (buffer_.empty()) return false;
    if (buffer_.size() < kBatchBytes && now - oldest_ < kMaxDelay) return true;
    writing_.swap(buffer_);
  }
  write_out(writing_);
  writing_.clear();
  return false;
}

void AccessLog::write_now() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_.swap(buffer_);
  }
  write_out(writing_);
  writing_.clear();
}

void AccessLog::write_out(const std::string& lines) {
  std::string_view rest = lines;
  while (!rest.empty()) {
    std::size_t n = rest.size();
    if (pipe_like_ && n > PIPE_BUF) {
      // Whole lines up to PIPE_BUF (a longer line goes alone).
      std::size_t cut = rest.rfind('\n', PIPE_BUF - 1);
      n = cut == std::string_view::npos ? rest.find('\n') + 1 : cut + 1;
      if (n == 0) n = rest.size();
    }
    if (!write_all(fd_, rest.data(), n) && !failed_) {
      failed_ = true;
      spdlog::error("request log {}: {}; lines are being lost", escaped(target_), std::strerror(errno));
    }
    rest.remove_prefix(n);
  }
}

void AccessLog::reopen() {
  if (!file_) return;
  auto fresh = open_target(target_);
  if (!fresh) {
    spdlog::error("{}; still writing to the old file", fresh.error());
    return;
  }
  write_now();  // what is buffered belongs to the old file's period
  file_ = std::move(*fresh);
  fd_ = file_.get();
  failed_ = false;
}

}  // namespace suz
