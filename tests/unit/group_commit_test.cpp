// GroupCommit with a publish that records what it was given: every entry is
// published exactly once, never by two rounds at a time, and each caller
// returns only after its own entry was published, with that entry's error.
#include "spooler/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace suz {
namespace {

TEST(GroupCommit, every_entry_published_once_and_before_its_caller_returns) {
  constexpr int kThreads = 8, kEach = 400;
  std::vector<std::atomic<int>> published(kThreads * kEach);
  std::atomic<bool> in_round{false};
  std::atomic<int> overlapping{0};
  GroupCommit gc([&](std::vector<GroupCommit::Entry*>& batch) {
    if (in_round.exchange(true)) overlapping++;
    for (auto* e : batch) published[std::stoi(e->record)]++;
    in_round = false;
  });
  std::atomic<int> early{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        GroupCommit::Entry e;
        e.record = std::to_string(t * kEach + i);  // the entry's index
        gc.commit(e);
        if (published[std::stoi(e.record)] != 1) early++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(early, 0);
  EXPECT_EQ(overlapping, 0);
  for (int i = 0; i < kThreads * kEach; ++i) ASSERT_EQ(published[i], 1) << "entry " << i;
  auto s = gc.stats();
  EXPECT_EQ(s.entries, std::size_t(kThreads * kEach));
  EXPECT_LE(s.rounds, s.entries);
}

TEST(GroupCommit, each_caller_gets_its_own_entrys_error) {
  GroupCommit gc([](std::vector<GroupCommit::Entry*>& batch) {
    for (auto* e : batch) e->error = std::stoi(e->record) % 2 ? 28 /* ENOSPC */ : 0;
  });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        GroupCommit::Entry e;
        e.record = std::to_string(t * 1000 + i);
        gc.commit(e);
        if (e.error != (std::stoi(e.record) % 2 ? 28 : 0)) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
}

TEST(GroupCommit, a_lone_pusher_publishes_one_entry_per_round) {
  int rounds = 0;
  GroupCommit gc([&](std::vector<GroupCommit::Entry*>& batch) {
    ++rounds;
    EXPECT_EQ(batch.size(), 1u);
  });
  for (int i = 0; i < 100; ++i) {
    GroupCommit::Entry e;
    gc.commit(e);
  }
  EXPECT_EQ(rounds, 100);
}

}  // namespace
}  // namespace suz
