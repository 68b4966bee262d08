#include "spooler/journal_replay.hpp"

#include <unistd.h>

#include <algorithm>
#include <unordered_map>

#include "spooler/job_files.hpp"

namespace fs = std::filesystem;

namespace suz {

using namespace job_files;

namespace {

struct Found {
  fs::path path;
  bool finished = false;  // in trash/: done, on its way out
};

// Every job file of the spool by id.
std::unordered_map<std::string, Found> jobs_by_id(const fs::path& spool) {
  std::unordered_map<std::string, Found> found;
  auto add = [&](const fs::path& dir, bool finished) {
    for (auto& [name, path] : jobs_in(dir)) found[name.id] = Found{path, finished};
  };
  add(spool / "queue", false);
  add(spool / "failed", false);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(spool / "claimed", ec))
    if (e.is_directory(ec)) add(e.path(), false);
  add(spool / "trash", true);
  return found;
}

// Whether the job's file (found by id) survived the crash. Under the
// record's name it must hold the record's bytes exactly: it may be a
// recycled file (spooler/free_files.hpp) that shows the job it held before.
// Under another name (retried, failed) it was rewritten since, whole.
bool intact(const fs::path& path, const JournalItem& item) {
  std::string file = path.filename().string();
  auto bytes = read_file(path);
  if (file == item.name) return bytes && *bytes == item.bytes;
  auto name = JobName::parse(file);
  return name && bytes && decode_job(*name, *bytes).has_value();
}

}  // namespace

std::size_t replay_journal(const fs::path& spool, const JournalHeader& header, const std::vector<JournalRecord>& records) {
  std::int64_t since = std::max(header.checkpoint_ns,
                                read_journal_checkpoint(spool / "journal", header.boot).value_or(header.checkpoint_ns));
  std::vector<const JournalItem*> due;
  for (const JournalRecord& r : records)
    if (r.t_ns >= since)
      for (const JournalItem& item : r.items) due.push_back(&item);
  if (due.empty()) return 0;

  std::unordered_map<std::string, Found> found = jobs_by_id(spool);
  std::size_t restored = 0;
  for (const JournalItem* item : due) {
    std::optional<JobName> name = JobName::parse(item->name);
    if (!name || !decode_job(*name, item->bytes)) continue;  // never a job: the crc matched garbage
    // The push's own file, if the crash kept it in tmp/: the record's copy
    // takes its place.
    fs::path pushed = spool / "tmp" / ("push." + header.boot + "." + item->name);
    auto it = found.find(name->id);
    fs::path target = spool / "queue" / item->name;
    if (it != found.end()) {
      if (it->second.finished || intact(it->second.path, *item)) {
        ::unlink(pushed.c_str());
        continue;
      }
      target = it->second.path;  // there, but not whole, or not its bytes
    }
    fs::path tmp = spool / "tmp" / ("replay." + item->name);
    ::unlink(tmp.c_str());  // left by a replay that was cut short
    write_file(tmp, item->bytes);
    if (::rename(tmp.c_str(), target.c_str()) < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      fail_errno("rename into", target.parent_path(), err);
    }
    ::unlink(pushed.c_str());
    found[name->id] = Found{target, false};
    ++restored;
  }
  Fd dir = open_dir(spool);
  if (::syncfs(dir.get()) < 0) fail_errno("sync", spool);
  return restored;
}

}  // namespace suz
