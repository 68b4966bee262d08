#include "spooler/pending_jobs.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <vector>
#include <system_error>

namespace suz {

PendingJobs::PendingJobs(DirectoryQueue& queue)
    : queue_(queue), inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  if (!inotify_) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  std::string queue_dir = (queue_.dir() / "queue").string();
  // IN_MOVED_TO: every job arrives by rename. IN_CLOSE_WRITE: a file someone
  // wrote into queue/ by hand, complete once closed.
  if (::inotify_add_watch(inotify_.get(), queue_dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + queue_dir);
  rescan();
}

void PendingJobs::rescan() {
  names_.clear();
  for (const JobName& n : queue_.scan()) names_.insert(n.str());
}

void PendingJobs::add(const std::string& file) {
  if (JobName::parse(file)) names_.insert(file);
  // Anything else is quarantined by the next scan; not worth one now.
}

void PendingJobs::on_readable() {
  alignas(inotify_event) char buf[64 * 1024];
  bool overflow = false;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      if (e->mask & IN_Q_OVERFLOW) overflow = true;
      else if (e->len > 0) add(e->name);
      p += sizeof(inotify_event) + e->len;
    }
  }
  if (overflow) rescan();  // events were lost: the directory is the truth
}

std::optional<JobName> PendingJobs::next(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms, int spread) {
  wake_at_ms->reset();
  std::vector<JobName> candidates;  // due, all of the first due one's priority
  for (const std::string& file : names_) {
    std::optional<JobName> n = JobName::parse(file);
    if (n->at_ms > now_ms) {
      if (!*wake_at_ms || n->at_ms < **wake_at_ms) *wake_at_ms = n->at_ms;
      continue;
    }
    if (!candidates.empty() && n->priority != candidates.front().priority) break;
    candidates.push_back(std::move(*n));
    if (static_cast<int>(candidates.size()) >= spread) break;
  }
  if (candidates.empty()) return std::nullopt;
  if (candidates.size() == 1) return candidates.front();
  return candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng_)];
}

void PendingJobs::forget(const JobName& name) { names_.erase(name.str()); }

}  // namespace suz
