#include "spooler/directory_queue.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/fd.hpp"

namespace fs = std::filesystem;

namespace suz {

namespace {

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

void fsync_path(const fs::path& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) fail_errno("open", path);
  if (::fsync(fd.get()) < 0) fail_errno("fsync", path);
}

void write_file(const fs::path& path, const std::string& bytes, bool sync) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd) fail_errno("create", path);
  if (!write_all(fd.get(), bytes.data(), bytes.size())) fail_errno("write", path);
  if (sync && ::fsync(fd.get()) < 0) fail_errno("fsync", path);
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The job files of a directory (names that parse), sorted in run order.
std::vector<std::pair<JobName, fs::path>> jobs_in(const fs::path& dir, std::vector<fs::path>* strangers = nullptr) {
  std::vector<std::pair<JobName, fs::path>> jobs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string file = e.path().filename().string();
    if (auto n = JobName::parse(file)) jobs.emplace_back(*n, e.path());
    else if (strangers && !file.ends_with(".error")) strangers->push_back(e.path());
  }
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.first.str() < b.first.str(); });
  return jobs;
}

}  // namespace

DirectoryQueue::DirectoryQueue(fs::path dir) : dir_(std::move(dir)) {
  for (const char* sub : {"tmp", "queue", "claimed", "failed", "corrupt"}) {
    std::error_code ec;
    fs::create_directories(dir_ / sub, ec);
    if (ec) throw std::system_error(ec, "cannot create " + (dir_ / sub).string());
  }
}

std::string DirectoryQueue::push(const JobSpec& spec) {
  if (spec.priority < kMinPriority || spec.priority > kMaxPriority)
    throw std::invalid_argument("priority " + std::to_string(spec.priority) + " out of range " +
                                std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
  Job job;
  job.name.id = new_job_id();
  job.created_ms = wall_clock_ms();
  job.name.at_ms = spec.at_ms.value_or(job.created_ms);
  job.name.priority = spec.priority;
  job.args = spec.args;
  job.body = spec.body;
  std::string name = job.name.str();
  fs::path tmp = dir_ / "tmp" / name;
  write_file(tmp, encode_job(job), /*sync=*/true);
  if (::rename(tmp.c_str(), (dir_ / "queue" / name).c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    fail_errno("rename into", dir_ / "queue");
  }
  fsync_path(dir_ / "queue", O_RDONLY | O_DIRECTORY);
  return job.name.id;
}

std::optional<ClaimedJob> DirectoryQueue::claim(const std::string& owner, std::int64_t now_ms) {
  fs::path mine = dir_ / "claimed" / owner;
  std::error_code ec;
  fs::create_directories(mine, ec);
  if (ec) throw std::system_error(ec, "cannot create " + mine.string());
  std::vector<fs::path> strangers;
  auto jobs = jobs_in(dir_ / "queue", &strangers);
  for (const fs::path& s : strangers) quarantine(s, "not a job file name");
  for (auto& [name, path] : jobs) {
    if (name.at_ms > now_ms) continue;
    fs::path target = mine / path.filename();
    if (::rename(path.c_str(), target.c_str()) < 0) continue;  // ENOENT: another claimer won it
    auto bytes = read_file(target);
    Result<Job> job = bytes ? decode_job(name, *bytes) : Result<Job>(unexpected(std::string("unreadable")));
    if (!job) {
      quarantine(target, job.error());
      continue;
    }
    return ClaimedJob{std::move(*job), target};
  }
  return std::nullopt;
}

std::optional<std::int64_t> DirectoryQueue::next_due_ms(std::int64_t now_ms) const {
  std::optional<std::int64_t> next;
  for (auto& [name, path] : jobs_in(dir_ / "queue"))
    if (name.at_ms > now_ms && (!next || name.at_ms < *next)) next = name.at_ms;
  return next;
}

void DirectoryQueue::done(const ClaimedJob& job) {
  if (::unlink(job.path.c_str()) < 0 && errno != ENOENT) fail_errno("unlink", job.path);
}

void DirectoryQueue::retry(const ClaimedJob& claimed, std::int64_t at_ms, const std::string& error) {
  Job job = claimed.job;
  job.name.attempt++;
  job.name.at_ms = at_ms;
  job.last_error = error;
  // The new contents go through tmp/ like a push; then the claimed file goes.
  std::string name = job.name.str();
  fs::path tmp = dir_ / "tmp" / name;
  write_file(tmp, encode_job(job), /*sync=*/false);
  if (::rename(tmp.c_str(), (dir_ / "queue" / name).c_str()) < 0) fail_errno("rename into", dir_ / "queue");
  done(claimed);
}

void DirectoryQueue::fail(const ClaimedJob& claimed, const std::string& error) {
  fs::path target = dir_ / "failed" / claimed.path.filename();
  fs::path note = target;
  note += ".error";
  std::ofstream(note, std::ios::binary) << error;
  if (::rename(claimed.path.c_str(), target.c_str()) < 0) fail_errno("rename into", dir_ / "failed");
}

std::size_t DirectoryQueue::recover(const std::string& owner) {
  std::size_t n = 0;
  for (auto& [name, path] : jobs_in(dir_ / "claimed" / owner))
    if (::rename(path.c_str(), (dir_ / "queue" / path.filename()).c_str()) == 0) ++n;
  std::error_code ec;
  fs::remove(dir_ / "claimed" / owner, ec);  // only if empty
  return n;
}

std::vector<JobEntry> DirectoryQueue::list(JobState state) const {
  std::vector<JobEntry> out;
  auto add = [&](const fs::path& dir, const std::string& owner) {
    for (auto& [name, path] : jobs_in(dir)) out.push_back({name, state, owner, path});
  };
  switch (state) {
    case JobState::kQueued: add(dir_ / "queue", ""); break;
    case JobState::kFailed: add(dir_ / "failed", ""); break;
    case JobState::kClaimed: {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir_ / "claimed", ec))
        if (e.is_directory()) add(e.path(), e.path().filename().string());
      break;
    }
  }
  return out;
}

std::optional<JobEntry> DirectoryQueue::find(const std::string& id) const {
  for (JobState s : {JobState::kQueued, JobState::kClaimed, JobState::kFailed})
    for (JobEntry& e : list(s))
      if (e.name.id == id) return e;
  return std::nullopt;
}

Result<Job> DirectoryQueue::read(const JobEntry& entry) const {
  auto bytes = read_file(entry.path);
  if (!bytes) return unexpected("cannot read " + entry.path.string());
  return decode_job(entry.name, *bytes);
}

bool DirectoryQueue::remove(const std::string& id) {
  auto e = find(id);
  if (!e) return false;
  std::error_code ec;
  fs::path note = e->path;
  note += ".error";
  fs::remove(note, ec);
  return fs::remove(e->path, ec);
}

bool DirectoryQueue::requeue_failed(const std::string& id) {
  for (JobEntry& e : list(JobState::kFailed)) {
    if (e.name.id != id) continue;
    JobName fresh = e.name;
    fresh.attempt = 0;
    fresh.at_ms = wall_clock_ms();
    if (::rename(e.path.c_str(), (dir_ / "queue" / fresh.str()).c_str()) < 0) fail_errno("rename into", dir_ / "queue");
    std::error_code ec;
    fs::path note = e.path;
    note += ".error";
    fs::remove(note, ec);
    return true;
  }
  return false;
}

void DirectoryQueue::quarantine(const fs::path& file, const std::string& why) {
  fs::path target = dir_ / "corrupt" / file.filename();
  if (::rename(file.c_str(), target.c_str()) < 0) return;  // someone else moved it
  fs::path note = target;
  note += ".error";
  std::ofstream(note) << why << "\n";
  if (on_corrupt) on_corrupt(target, why);
}

}  // namespace suz
