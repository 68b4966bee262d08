// Workers replaced while wrk (or probes) keep them busy: by lifetime and by
// request count nothing may fail; a kill -9 may lose only what the killed
// worker had in flight.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"
#include "tests/support/wrk.hpp"

namespace suz::test {
namespace {

std::string config(const std::string& lifetime) {
  return app_config("lifetime_app", 2, 1,
                    "[lifetime]\ngraceful_timeout = \"10s\"\n" + lifetime + "[stats]\nlisten = \"127.0.0.1:0\"\n");
}

nlohmann::json stats(VassalUnderTest& v) {
  auto m = v.process().wait_for_line("stats on 127\\.0\\.0\\.1:(\\d+)", 30s);
  if (!m) return {};
  auto r = http_get(std::stoi((*m)[1]), "/");
  return r ? nlohmann::json::parse(r->body) : nlohmann::json();
}

// Until the stats show both workers serving (the master's view, which is
// what decides whether a replacement has taken over), and `gone` (a killed
// worker) reaped.
void wait_serving(VassalUnderTest& v, pid_t gone = 0) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    nlohmann::json s = stats(v);
    int serving = 0;
    if (!s.is_null())
      for (const auto& w : s["workers"]) serving += w["state"] == "serving" && w["pid"] != gone;
    if (serving == 2 && s["workers"].size() == 2) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL() << "workers not serving:\n" << v.process().output();
}

TEST(RespawnUnderLoad, wrk_for_20s_while_each_worker_retires_every_second_sees_no_error) {
  VassalUnderTest v(config("max_worker_lifetime = \"1s\"\n"), 2);
  wait_serving(v);
  auto w = run_wrk(v.http_port(), 20);
  ASSERT_TRUE(w) << "wrk did not run";
  nlohmann::json s = stats(v);
  // About 2 per second; fewer only if the machine is badly overloaded.
  EXPECT_GE(s["respawns"]["lifetime"].get<int>(), 20) << s.dump(2);
  EXPECT_GT(w->requests, 1000) << w->output;
  EXPECT_EQ(w->socket_errors, 0) << w->output;
  EXPECT_EQ(w->non_2xx, 0) << w->output;
  EXPECT_EQ(v.process().count_lines(" (error|critical) "), 0) << v.process().output();
}

TEST(RespawnUnderLoad, wrk_while_workers_retire_by_max_requests_sees_no_error) {
  VassalUnderTest v(config("max_requests = 2000\nmax_worker_lifetime = 0\n"), 2);
  wait_serving(v);
  auto w = run_wrk(v.http_port(), 10);
  ASSERT_TRUE(w) << "wrk did not run";
  nlohmann::json s = stats(v);
  EXPECT_GE(s["respawns"]["max_requests"].get<int>(), 10) << s.dump(2);
  EXPECT_EQ(w->socket_errors, 0) << w->output;
  EXPECT_EQ(w->non_2xx, 0) << w->output;
}

TEST(RespawnUnderLoad, kill_9_loses_only_requests_already_on_the_killed_worker) {
  VassalUnderTest v(config(""), 2);
  wait_serving(v);
  // One request per connection: a request sent after a kill can only reach
  // a live worker (the listening socket and its backlog outlive the worker).
  std::vector<std::unique_ptr<Probe>> probes;
  for (int i = 0; i < 4; ++i) probes.push_back(std::make_unique<Probe>(v.http_port(), "/", /*keep_alive=*/false));
  std::mt19937 rng(std::random_device{}());
  // Each kill as the window from just before kill() to the victim's death
  // (SIGKILL lands asynchronously): a request sent in it may be lost.
  struct Kill {
    std::chrono::steady_clock::time_point sent, gone;
  };
  std::vector<Kill> kills;
  for (int k = 0; k < 10; ++k) {
    nlohmann::json s = stats(v);
    std::vector<pid_t> serving;
    for (const auto& w : s["workers"])
      if (w["state"] == "serving") serving.push_back(w["pid"].get<pid_t>());
    ASSERT_FALSE(serving.empty()) << s.dump(2);
    pid_t victim = serving[std::uniform_int_distribution<std::size_t>(0, serving.size() - 1)(rng)];
    auto sent = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_TRUE(wait_gone(victim, 10s));
    kills.push_back({sent, std::chrono::steady_clock::now()});
    wait_serving(v, victim);
    // The replacement serves: requests keep succeeding.
    ASSERT_TRUE(http_get(v.http_port(), "/"));
  }
  int ok = 0, failed = 0;
  for (auto& p : probes) {
    p->stop();
    ok += p->ok();
    failed += p->failed();
    for (const Probe::Interval& f : p->failed_intervals()) {
      bool spans_a_kill = false;
      for (const Kill& kill : kills) spans_a_kill |= f.sent <= kill.gone && kill.sent <= f.failed;
      EXPECT_TRUE(spans_a_kill) << "a request sent after every kill still failed: "
                                << testing::PrintToString(p->failures());
    }
  }
  std::cerr << kills.size() << " kills: " << ok << " requests ok, " << failed
            << " lost (each in flight on a killed worker)\n";
  EXPECT_GT(ok, 100);
  // Each probe has one request in flight at a time.
  EXPECT_LE(failed, 4 * static_cast<int>(kills.size()));
  nlohmann::json s = stats(v);
  EXPECT_EQ(s["respawns"]["died"], 10) << s.dump(2);
}

}  // namespace
}  // namespace suz::test
