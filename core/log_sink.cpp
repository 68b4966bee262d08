#include "core/log_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace suz {

LogSink::LogSink(std::string path, bool captures_output) : path_(std::move(path)), captures_output_(captures_output) {
  if (path_.empty()) return;
  file_ = open_file();
  capture();
}

void LogSink::capture() const {
  if (!captures_output_) return;
  ::dup2(file_.get(), STDOUT_FILENO);
  ::dup2(file_.get(), STDERR_FILENO);
}

Fd LogSink::open_file() const {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open log file " + path_);
  return Fd(fd);
}

void LogSink::reopen() {
  if (path_.empty()) return;
  Fd fresh = open_file();
  std::lock_guard<std::mutex> lock(mutex_);
  file_ = std::move(fresh);
  capture();  // one dup2 each: a print in flight lands whole in one file or the other
}

void LogSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  int fd = file_ ? file_.get() : STDERR_FILENO;
  write_all(fd, line.data(), line.size());  // nowhere to report a failed log write
}

}  // namespace suz
