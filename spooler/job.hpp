#pragma once
// A spooled job and its two encodings: the file name, which carries what a
// scan needs to order and pick jobs without opening them (priority, the
// not-before time, the id, the attempt), and the file's contents (arguments
// and a binary-safe body).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"  // wall_clock_ms
#include "core/result.hpp"

namespace suz {

constexpr int kMinPriority = -999;
constexpr int kMaxPriority = 999;

struct JobName {
  int priority = 0;         // higher runs first
  std::int64_t at_ms = 0;   // not before (wall clock, ms since the epoch); also FIFO order
  std::string id;           // unique across processes and hosts sharing the directory
  int attempt = 0;          // runs so far

  // "p0999-t001763800000000-<id>-a000": names sort in the order jobs run.
  std::string str() const;
  static std::optional<JobName> parse(std::string_view name);
};

struct Job {
  JobName name;
  std::map<std::string, std::string> args;
  std::string body;          // any bytes
  std::int64_t created_ms = 0;
  std::string last_error;    // the previous attempt's exception, if any
};

// "SUZJOB1 <header length>\n<JSON header><body>"; the header names the job's
// id, and a file holding another id than its name's is not that job.
std::string encode_job(const Job& job);
// The name comes from the file name; the rest from bytes. An error says what
// is wrong (for the quarantine log line).
Result<Job> decode_job(const JobName& name, std::string_view bytes);

// A new id: time-ordered, with the pid and randomness to be unique among
// processes and hosts.
std::string new_job_id();

}  // namespace suz
