#pragma once
// The one spdlog sink every Suzerain process logs through. It writes each
// line with a single write(2) (atomic on pipes up to PIPE_BUF, so lines from
// many processes sharing stderr do not interleave), and it exposes its mutex
// to the fork layer: a before-fork hook takes it so that no other thread is
// mid-line (and inside localtime's lock) when the process forks.
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

#include "core/fd.hpp"

namespace suz {

class LogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // path empty: log to stderr. Otherwise append to path (created 0640);
  // captures_output: and make it stdout and stderr too, at each (re)open.
  explicit LogSink(std::string path, bool captures_output = false);

  // Reopens the file (after logrotate moved it away); no-op for stderr.
  void reopen();

  // For the fork hooks only: hold the lock across fork(2).
  void lock_before_forking() { mutex_.lock(); }
  void unlock_after_forking() { mutex_.unlock(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  Fd open_file() const;

  void capture() const;

  std::string path_;
  bool captures_output_;
  Fd file_;
};

}  // namespace suz
