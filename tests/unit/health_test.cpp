// The master's health checks as verdicts, on a real scoreboard (shared
// memory) written the way a child writes it, with no process.
#include "vassal/health.hpp"

#include <gtest/gtest.h>

namespace suz {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1'000'000;

struct Board {
  Scoreboard board{4, 2};
  int record = board.claim(1, 1);
  Board() { board.process(record).heartbeat_ms = kNow - 100; }
  void busy(int thread, const char* request, std::int64_t since_ms) {
    board.thread(record, thread).begin(request);
    board.thread(record, thread).request_started_ms = kNow - since_ms;
  }
  Verdict check(const HealthLimits& limits, bool retiring = false, std::optional<std::uint64_t> rss = {}) {
    return check_health(board, record, retiring, kNow, limits, rss);
  }
};

const HealthLimits kLimits{std::chrono::seconds(1), 100 << 20, 30'000};

TEST(Health, an_idle_child_with_a_fresh_heartbeat_is_healthy) {
  Board b;
  EXPECT_TRUE(b.check(kLimits).healthy());
}

TEST(Health, a_request_past_harakiri_is_named_with_its_thread_and_how_long_it_ran) {
  Board b;
  b.busy(0, "GET /quick", 10);
  b.busy(1, "GET /stuck", 1500);
  Verdict v = b.check(kLimits);
  EXPECT_EQ(v.kind, Verdict::Kind::kHarakiri);
  EXPECT_EQ(v.request, "GET /stuck");
  EXPECT_EQ(v.thread, 2);
  EXPECT_EQ(v.ran, 1500ms);
}

TEST(Health, an_event_loop_that_stopped_turning_for_harakiri_is_blocked_even_while_retiring) {
  Board b;
  b.board.process(b.record).loop_turn_ms = kNow - 900;
  EXPECT_TRUE(b.check(kLimits).healthy());
  b.board.process(b.record).loop_turn_ms = kNow - 1'200;
  for (bool retiring : {false, true}) {
    Verdict v = b.check(kLimits, retiring);
    EXPECT_EQ(v.kind, Verdict::Kind::kLoopBlocked);
    EXPECT_EQ(v.ran, 1'200ms);
    EXPECT_EQ(v.limit, 1s);
  }
}

TEST(Health, with_harakiri_off_a_loop_is_blocked_past_the_heartbeat_timeout_and_no_loop_is_never_blocked) {
  Board b;
  const HealthLimits off{Duration(0), 0, 30'000};
  b.board.process(b.record).loop_turn_ms = kNow - 20'000;
  EXPECT_TRUE(b.check(off).healthy());
  b.board.process(b.record).loop_turn_ms = kNow - 31'000;
  EXPECT_EQ(b.check(off).kind, Verdict::Kind::kLoopBlocked);
  EXPECT_EQ(b.check(off).limit, 30s);
  b.board.process(b.record).loop_turn_ms = 0;  // a WSGI worker, or a loop that has finished
  EXPECT_TRUE(b.check(off).healthy());
}

TEST(Health, harakiri_zero_is_off) {
  Board b;
  b.busy(0, "GET /long", 3'600'000);
  EXPECT_TRUE(b.check({Duration(0), 0, 30'000}).healthy());
}

TEST(Health, an_idle_child_whose_heartbeat_stopped_has_no_heartbeat_but_a_busy_one_is_in_a_long_request) {
  Board b;
  b.board.process(b.record).heartbeat_ms = kNow - 31'000;
  Verdict v = b.check(kLimits);
  EXPECT_EQ(v.kind, Verdict::Kind::kNoHeartbeat);
  EXPECT_EQ(v.ran, 31'000ms);
  b.busy(0, "GET /report", 500);
  EXPECT_TRUE(b.check(kLimits).healthy());
}

TEST(Health, a_retiring_child_is_checked_for_harakiri_only) {
  Board b;
  b.board.process(b.record).heartbeat_ms = kNow - 60'000;
  EXPECT_TRUE(b.check(kLimits, /*retiring=*/true, std::uint64_t{1} << 30).healthy());
  b.busy(0, "GET /stuck", 2000);
  EXPECT_EQ(b.check(kLimits, /*retiring=*/true).kind, Verdict::Kind::kHarakiri);
}

TEST(Health, rss_over_max_rss_when_sampled_and_harakiri_comes_first) {
  Board b;
  EXPECT_TRUE(b.check(kLimits, false, std::uint64_t{99} << 20).healthy());
  Verdict v = b.check(kLimits, false, std::uint64_t{101} << 20);
  EXPECT_EQ(v.kind, Verdict::Kind::kOverRss);
  EXPECT_EQ(v.rss, std::uint64_t{101} << 20);
  EXPECT_TRUE(b.check({Duration(0), 0, 30'000}, false, std::uint64_t{1} << 40).healthy()) << "max_rss 0 is off";
  b.busy(0, "GET /grow", 5000);
  EXPECT_EQ(b.check(kLimits, false, std::uint64_t{101} << 20).kind, Verdict::Kind::kHarakiri);
}

TEST(Health, a_finished_request_leaves_the_thread_idle_and_the_next_one_is_timed_afresh) {
  Board b;
  b.busy(0, "GET /first", 2000);
  b.board.thread(b.record, 0).end();
  EXPECT_TRUE(b.check(kLimits).healthy());
  b.busy(0, "GET /second", 10);
  EXPECT_TRUE(b.check(kLimits).healthy());
  EXPECT_EQ(b.board.in_flight(b.record, 0)->request, "GET /second");
}

}  // namespace
}  // namespace suz
