#pragma once
// A worker's request log ([log] access): each line is formatted on the
// thread that served the request and kept in memory; the worker's loop
// writes them in batches (write_due, once per loop turn), so a busy worker
// makes one write(2) per batch rather than one per request. Lines wait at
// most kMaxDelay; the rest are written when the worker stops.
//
// Every worker appends to the same file with O_APPEND, each batch in one
// write of whole lines; to stderr or stdout (pipes) a batch goes in pieces
// of at most PIPE_BUF, so it never interleaves with another process's line.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "core/fd.hpp"
#include "core/result.hpp"
#include "core/access_format.hpp"
#include "vassal/access_line.hpp"
#include "vassal/served.hpp"

namespace suz {

class AccessLog {
 public:
  static constexpr std::size_t kBatchBytes = 16 * 1024;
  static constexpr std::chrono::milliseconds kMaxDelay{50};

  // target: "stderr", "stdout" or a file (appended to, created 0640). The
  // error names the file and why it cannot be opened.
  static Result<std::unique_ptr<AccessLog>> open(const std::string& target, AccessFormat format);

  // Any thread.
  void record(const Served& s, int worker, pid_t pid);

  // The loop's thread. Writes the buffered lines if there are enough of
  // them or the oldest has waited kMaxDelay; returns whether lines are left
  // waiting (the caller comes back within kMaxDelay).
  bool write_due(std::chrono::steady_clock::time_point now);
  void write_now();
  // After logrotate moved the file away (USR1).
  void reopen();

 private:
  AccessLog(std::string target, AccessFormat format, Fd file);
  void write_out(const std::string& lines);

  std::string target_;
  AccessFormat format_;
  Fd file_;   // empty for stderr and stdout
  int fd_;    // where lines go
  bool pipe_like_;

  std::mutex mutex_;
  std::string buffer_;
  std::chrono::steady_clock::time_point oldest_{};  // the first buffered line's arrival
  std::string writing_;  // the loop's: swapped with buffer_, so records never wait on the disk
  bool failed_ = false;  // a write failed: said once
};

}  // namespace suz
