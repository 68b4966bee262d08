#include "spooler/job.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

namespace suz {

namespace {

constexpr std::string_view kMagic = "SUZJOB1 ";

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string JobName::str() const {
  char buf[64];
  // 1000 - priority: higher priorities sort first; at is zero-padded to sort numerically.
  std::snprintf(buf, sizeof buf, "p%04d-t%015lld-", 1000 - priority, static_cast<long long>(at_ms));
  char attempt_buf[16];
  std::snprintf(attempt_buf, sizeof attempt_buf, "-a%03d", attempt);
  return buf + id + attempt_buf;
}

std::optional<JobName> JobName::parse(std::string_view s) {
  // p0999-t001763800000000-ID-a000
  if (s.size() < 29 || s[0] != 'p' || s[5] != '-' || s[6] != 't' || s[22] != '-') return std::nullopt;
  std::size_t a = s.rfind("-a");
  if (a == std::string_view::npos || a <= 23) return std::nullopt;
  auto inverted = number<int>(s.substr(1, 4));
  auto at = number<std::int64_t>(s.substr(7, 15));
  auto attempt = number<int>(s.substr(a + 2));
  if (!inverted || !at || !attempt) return std::nullopt;
  JobName n;
  n.priority = 1000 - *inverted;
  n.at_ms = *at;
  n.id = std::string(s.substr(23, a - 23));
  n.attempt = *attempt;
  if (n.id.empty() || n.id.find('/') != std::string::npos || n.priority < kMinPriority || n.priority > kMaxPriority)
    return std::nullopt;
  return n;
}

std::string encode_job(const Job& job) {
  // The id inside too: a file found under another job's name (a recycled
  // file's old dirent, after a crash of the machine) is then told apart.
  nlohmann::json header = {
      {"id", job.name.id}, {"args", job.args}, {"created_ms", job.created_ms}, {"last_error", job.last_error}};
  std::string h = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(kMagic.size() + 12 + h.size() + job.body.size());
  out += kMagic;
  out += std::to_string(h.size());
  out += '\n';
  out += h;
  out += job.body;
  return out;
}

Result<Job> decode_job(const JobName& name, std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return unexpected(std::string("not a job file (no SUZJOB1 header)"));
  std::size_t nl = bytes.find('\n');
  if (nl == std::string_view::npos) return unexpected(std::string("truncated header"));
  auto length = number<std::size_t>(bytes.substr(kMagic.size(), nl - kMagic.size()));
  if (!length || nl + 1 + *length > bytes.size()) return unexpected(std::string("truncated header"));
  auto header = nlohmann::json::parse(bytes.substr(nl + 1, *length), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return unexpected(std::string("header is not a JSON object"));
  if (auto id = header.find("id"); id != header.end() && !(id->is_string() && id->get<std::string>() == name.id))
    return unexpected("the file holds job " + id->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                      ", not " + name.id);
  Job job;
  job.name = name;
  try {
    job.args = header.value("args", std::map<std::string, std::string>{});
    // A float or an out-of-range integer is corrupt, not converted: nlohmann's
    // double-to-integer conversion is undefined behaviour out of range.
    if (auto created = header.find("created_ms"); created != header.end()) {
      bool fits = created->is_number_integer() &&
                  !(created->is_number_unsigned() &&
                    created->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()));
      if (!fits) return unexpected(std::string("bad header field: created_ms is not a whole number of milliseconds"));
      job.created_ms = created->get<std::int64_t>();
    }
    job.last_error = header.value("last_error", std::string{});
  } catch (const nlohmann::json::exception& e) {
    return unexpected(std::string("bad header field: ") + e.what());
  }
  job.body = std::string(bytes.substr(nl + 1 + *length));
  return job;
}

std::string new_job_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::snprintf(buf, sizeof buf, "%013llx%06x%08llx", static_cast<unsigned long long>(us.count()),
                static_cast<unsigned>(::getpid()) & 0xffffff, static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

}  // namespace suz
