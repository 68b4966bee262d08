// The push journal on a real filesystem. A crash of the machine cannot be
// had in a test, so its effects are made by hand: job files that vanish or
// lose their data (what a lost rename or unwritten blocks leave), and
// segment headers rewritten to another boot's id (what a reboot makes of
// them). Recovery then runs as the vassal master runs it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/fd.hpp"
#include "spooler/boot_id.hpp"
#include "spooler/directory_queue.hpp"
#include "spooler/journal_segment.hpp"
#include "tests/support/process.hpp"
#include "tests/support/spool_jobs.hpp"

namespace fs = std::filesystem;

namespace suz::test {
namespace {

std::vector<fs::path> segments(const fs::path& spool) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(spool / "journal"))
    if (e.path().filename().string().starts_with("seg-")) out.push_back(e.path());
  return out;
}

std::optional<JournalHeader> header_of(const fs::path& segment) {
  Fd fd(::open(segment.c_str(), O_RDONLY | O_CLOEXEC));
  return JournalSegment::read_header(fd.get());
}

fs::path queued_file(DirectoryQueue& q, const std::string& id) {
  auto e = q.find(id);
  EXPECT_TRUE(e) << id;
  return e ? e->path : fs::path();
}

JournalSegment::Replay no_replay() {
  return [](const JournalHeader&, const std::vector<JournalRecord>&) -> std::size_t {
    ADD_FAILURE() << "nothing to replay";
    return 0;
  };
}

std::optional<std::string> job_files_read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string payload(std::int64_t t, const std::string& name, const std::string& bytes) {
  return journal_payload(t, {{name, bytes}});
}

TEST(JournalSegment, records_read_back_in_order_until_a_torn_one_and_none_after_a_rewind) {
  TempDir dir;
  fs::create_directories(dir.path() / "journal");
  fs::create_directories(dir.path() / "tmp");
  JournalSegment s = JournalSegment::acquire(dir.path() / "journal", dir.path() / "tmp", boot_id(), no_replay());
  EXPECT_EQ(fs::file_size(s.path()), kJournalSegmentBytes) << "zero-filled to its full size up front";
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
  std::string a = payload(1, "a", std::string("\0body", 5)), b = payload(2, "b", "x"), c = payload(3, "c", "");
  s.append({a, b});
  s.append({c});
  auto records = JournalSegment::read_records(s.fd(), s.header());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].items.at(0).name, "a");
  EXPECT_EQ(records[0].items.at(0).bytes, std::string("\0body", 5));
  EXPECT_EQ(records[1].t_ns, 2);
  EXPECT_EQ(records[2].items.at(0).name, "c");

  // One flipped byte in the last record: the records before it still count.
  off_t last = static_cast<off_t>(kJournalHeaderBytes + JournalSegment::framed_size(a.size()) +
                                  JournalSegment::framed_size(b.size()) + 20);
  char flipped = 'Z';
  ASSERT_EQ(::pwrite(s.fd(), &flipped, 1, last), 1);
  EXPECT_EQ(JournalSegment::read_records(s.fd(), s.header()).size(), 2u);

  std::uint64_t epoch = s.header().epoch;
  s.rewind(monotonic_ns());
  EXPECT_EQ(s.header().epoch, epoch + 1);
  EXPECT_TRUE(JournalSegment::read_records(s.fd(), s.header()).empty()) << "the last pass's records are stale";
  EXPECT_EQ(header_of(s.path())->epoch, epoch + 1) << "the header on disk says so too";
}

TEST(JournalSegment, a_segment_is_held_by_one_owner_and_the_next_goes_on_after_its_records) {
  TempDir dir;
  fs::create_directories(dir.path() / "journal");
  fs::create_directories(dir.path() / "tmp");
  auto acquire = [&] { return JournalSegment::acquire(dir.path() / "journal", dir.path() / "tmp", boot_id(), no_replay()); };
  std::optional<JournalSegment> first(acquire());
  first->append({payload(1, "kept", "k")});
  fs::path first_path = first->path();
  {
    JournalSegment second = acquire();
    EXPECT_NE(second.path(), first_path) << "an flock'd segment is not shared";
  }
  first.reset();  // its owner is gone; its record may still be needed
  JournalSegment next = acquire();
  ASSERT_TRUE(next.path() == first_path || segments(dir.path()).size() == 2u);
  if (next.path() != first_path) next = acquire();  // took the other free one; this one is the first's
  ASSERT_EQ(next.path(), first_path);
  next.append({payload(2, "new", "n")});
  auto records = JournalSegment::read_records(next.fd(), next.header());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].items.at(0).name, "kept");
  EXPECT_EQ(records[1].items.at(0).name, "new");
}

// A push returns once its record is on disk, before its file is; the
// crash then takes whatever of the files had not been written back.
TEST(Journal, pushes_whose_files_a_crash_lost_or_emptied_are_put_back_from_the_journal) {
  TempDir dir;
  std::vector<std::string> ids;
  std::set<std::string> lost;
  {
    DirectoryQueue q(dir.path());
    for (int i = 0; i < 20; ++i) ids.push_back(q.push({{{"n", std::to_string(i)}}, "body " + std::to_string(i), {}, 0}));
    for (int i = 0; i < 5; ++i) fs::remove(queued_file(q, ids[i]));                 // renames lost
    for (int i = 5; i < 8; ++i) fs::resize_file(queued_file(q, ids[i]), 0);         // names kept, data lost
    auto claimed = q.claim("dead-spooler");                                          // ids[8]: oldest left
    ASSERT_TRUE(claimed);
    fs::resize_file(claimed->path, 0);
    for (int i = 0; i < 9; ++i) lost.insert(ids[i]);
  }
  pretend_rebooted(dir.path());
  DirectoryQueue q(dir.path());
  Recovered r = q.recover_abandoned("the machine went down", 5);
  EXPECT_EQ(r.restored, 9u);
  EXPECT_EQ(r.requeued, 1u) << "the claimed one, rewritten, then back to the queue";
  EXPECT_EQ(q.list(JobState::kQueued).size(), 20u);
  for (int i = 0; i < 20; ++i) {
    auto e = q.find(ids[i]);
    ASSERT_TRUE(e) << i;
    auto job = q.read(*e);
    ASSERT_TRUE(job) << i << ": " << job.error();
    EXPECT_EQ(job->body, "body " + std::to_string(i));
    EXPECT_EQ(job->args.at("n"), std::to_string(i));
  }
  for (const fs::path& s : segments(dir.path())) EXPECT_EQ(header_of(s)->boot, boot_id()) << "ready for this boot";
  EXPECT_EQ(q.recover_abandoned("again", 5).restored, 0u) << "replayed once";
}

// A finished job is missing from the spool just as a lost one is; the
// spoolers' checkpoint is what tells them apart.
TEST(Journal, jobs_finished_before_a_checkpoint_do_not_run_again_after_a_crash) {
  TempDir dir;
  std::vector<std::string> before, after;
  {
    DirectoryQueue q(dir.path());
    for (int i = 0; i < 10; ++i) before.push_back(q.push({{{"n", std::to_string(i)}}, "", {}, 0}));
    for (int i = 0; i < 4; ++i) {
      auto j = q.claim("spooler");
      ASSERT_TRUE(j);
      q.done(*j);
    }
    q.checkpoint();
    for (int i = 0; i < 3; ++i) after.push_back(q.push({{{"m", std::to_string(i)}}, "", {}, 0}));
    // The oldest left is before[4]; finish one pushed after the checkpoint.
    auto found = q.find(after[0]);
    ASSERT_TRUE(found);
    ASSERT_TRUE(q.remove(after[0]));
  }
  pretend_rebooted(dir.path());
  DirectoryQueue q(dir.path());
  Recovered r = q.recover_abandoned("-", 5);
  EXPECT_EQ(r.restored, 1u) << "only what finished after the checkpoint runs again (at-least-once)";
  EXPECT_TRUE(q.find(after[0]));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(q.find(before[i])) << "finished before the checkpoint: " << i;
  EXPECT_EQ(q.list(JobState::kQueued).size(), 6u + 3u);
}

// A push may write over a finished job's file (free/); a crash can then
// leave the new name showing the old job's bytes, which still decode.
TEST(Journal, a_recycled_file_showing_its_old_job_after_a_crash_is_rewritten_from_the_journal) {
  TempDir dir;
  std::string old_bytes, fresh;
  {
    DirectoryQueue q(dir.path());
    q.push({{{"n", "old"}}, std::string(5000, 'o'), {}, 0});
    auto old_job = q.claim("spooler");
    ASSERT_TRUE(old_job);
    old_bytes = *job_files_read(old_job->path);
    q.done(*old_job);
    q.checkpoint();
    fresh = q.push({{{"n", "new"}}, "new body", {}, 0});
    fs::path file = queued_file(q, fresh);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << old_bytes;  // what the disk kept
  }
  pretend_rebooted(dir.path());
  DirectoryQueue q(dir.path());
  EXPECT_EQ(q.recover_abandoned("-", 5).restored, 1u);
  auto e = q.find(fresh);
  ASSERT_TRUE(e);
  auto job = q.read(*e);
  ASSERT_TRUE(job) << job.error();
  EXPECT_EQ(job->body, "new body");
  EXPECT_EQ(job->args.at("n"), "new");
}

// Past the segment's end, a round syncs the filesystem instead (the files
// written so far are then on disk) and the segment starts over.
TEST(Journal, a_full_segment_syncs_the_files_and_starts_over) {
  TempDir dir;
  std::vector<std::string> ids;
  const std::string body(64 * 1024, 'b');
  {
    DirectoryQueue q(dir.path());
    // 64 KiB each: 15 records fill a pass; 70 leaves some in the last one.
    for (int i = 0; i < 70; ++i) ids.push_back(q.push({{{"n", std::to_string(i)}}, body, {}, 0}));
    ASSERT_EQ(segments(dir.path()).size(), 1u);
    EXPECT_GE(header_of(segments(dir.path()).front())->epoch, 2u) << "4.4 MiB of pushes went round a " << kJournalSegmentBytes << "-byte segment";
    for (const std::string& id : ids) fs::remove(queued_file(q, id));
  }
  pretend_rebooted(dir.path());
  DirectoryQueue q(dir.path());
  Recovered r = q.recover_abandoned("-", 5);
  EXPECT_GT(r.restored, 0u);
  EXPECT_LT(r.restored, 70u) << "those before the sync were on disk as files: not in the new pass";
  for (const JobEntry& e : q.list(JobState::kQueued)) EXPECT_EQ(q.read(e)->body, body);
}

}  // namespace
}  // namespace suz::test
