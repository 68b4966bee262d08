// The master's stats endpoint: JSON at /, Prometheus text at /metrics, read
// from a running vassal whose workers are serving, retiring and dying.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using nlohmann::json;

std::string config(const std::string& stats_listen, const std::string& lifetime = "", int workers = 2) {
  return app_config("lifetime_app", workers, 2, "[lifetime]\n" + lifetime + "[stats]\nlisten = \"" + stats_listen + "\"\n");
}

int stats_port(VassalUnderTest& v) {
  auto m = v.process().wait_for_line("stats on 127\\.0\\.0\\.1:(\\d+)", 30s);
  return m ? std::stoi((*m)[1]) : 0;
}

json stats_of(int port) {
  auto r = http_get(port, "/");
  if (!r || r->status != 200) return json();
  EXPECT_EQ(r->header("content-type"), "application/json");
  return json::parse(r->body);
}

// Polls the endpoint (each poll a real request) until pred holds.
template <class Pred>
json stats_when(int port, Pred pred, std::chrono::seconds timeout = 30s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json s;
  while (std::chrono::steady_clock::now() < until) {
    s = stats_of(port);
    if (!s.is_null() && pred(s)) return s;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "stats never satisfied the condition; last:\n" << s.dump(2);
  return s;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(Stats, json_lists_every_worker_with_its_state_pid_and_requests) {
  VassalUnderTest v(config("127.0.0.1:0"), 2, "statsapp");
  int port = stats_port(v);
  ASSERT_NE(port, 0) << v.process().output();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(http_get(v.http_port(), "/"));

  // The workers log "serving" a moment before the master hears they are ready.
  json s = stats_when(port, [](const json& s) {
    return s["requests"].get<int>() >= 10 && s["workers"].size() == 2 && s["workers"][0]["state"] == "serving" &&
           s["workers"][1]["state"] == "serving";
  });
  EXPECT_EQ(s["vassal"], "statsapp");
  EXPECT_EQ(s["master_pid"].get<pid_t>(), v.process().pid());
  EXPECT_EQ(s["workers_wanted"], 2);
  EXPECT_EQ(s["threads_per_worker"], 2);
  ASSERT_EQ(s["workers"].size(), 2u) << s.dump(2);
  std::set<int> ids;
  std::uint64_t per_worker = 0;
  for (const json& w : s["workers"]) {
    ids.insert(w["id"].get<int>());
    EXPECT_EQ(w["state"], "serving");
    EXPECT_EQ(w["generation"], 1);
    EXPECT_TRUE(alive(w["pid"].get<pid_t>()));
    // The default max_worker_lifetime (1h, less jitter) is counting down.
    EXPECT_GT(w["retires_in_seconds"].get<double>(), 3000.0);
    EXPECT_LE(w["retires_in_seconds"].get<double>(), 3600.0);
    EXPECT_GE(w["age_seconds"].get<double>(), 0.0);
    per_worker += w["requests"].get<std::uint64_t>();
  }
  EXPECT_EQ(ids, (std::set<int>{1, 2}));
  EXPECT_EQ(per_worker, s["requests"].get<std::uint64_t>());
  for (const auto& [cause, count] : s["respawns"].items()) EXPECT_EQ(count, 0) << cause;

  // An unasked death is counted as such, and the dead worker's requests stay counted.
  ASSERT_EQ(::kill(s["workers"][0]["pid"].get<pid_t>(), SIGKILL), 0);
  json after = stats_when(port, [](const json& s) {
    return s["respawns"]["died"] == 1 && s["workers"].size() == 2 && s["workers"][0]["state"] == "serving";
  });
  EXPECT_EQ(after["requests"], s["requests"]);
}

TEST(Stats, a_request_in_flight_is_shown_with_its_thread_and_duration) {
  VassalUnderTest v(config("127.0.0.1:0", "", 1), 1);
  int port = stats_port(v);
  ASSERT_NE(port, 0);
  HttpClient slow(v.http_port());
  slow.send("GET /sleep?3 HTTP/1.1\r\nHost: x\r\n\r\n");
  json s = stats_when(port, [](const json& s) { return !s["workers"][0]["busy_threads"].empty(); });
  const json& busy = s["workers"][0]["busy_threads"][0];
  EXPECT_EQ(busy["request"], "GET /sleep?3");
  EXPECT_GE(busy["running_seconds"].get<double>(), 0.0);
  EXPECT_LT(busy["running_seconds"].get<double>(), 3.0);
  EXPECT_TRUE(slow.receive());
}

TEST(Stats, respawns_are_counted_by_cause_and_requests_survive_retirement) {
  VassalUnderTest v(config("127.0.0.1:0", "max_worker_lifetime = \"300ms\"\n"), 2);
  int port = stats_port(v);
  ASSERT_NE(port, 0);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(http_get(v.http_port(), "/"));
  ASSERT_TRUE(v.reaches_generation(1, 3));
  ASSERT_TRUE(v.reaches_generation(2, 3));
  json s = stats_of(port);
  EXPECT_GE(s["respawns"]["lifetime"].get<int>(), 4) << s.dump(2);
  // Retired workers' requests are still counted: a Prometheus counter never goes down.
  EXPECT_GE(s["requests"].get<int>(), 20) << s.dump(2);
  // A serving worker shows its time to retirement; at a given instant every
  // serving one may just have passed it, its successor starting (the
  // worker logs "serving" before the master hears it), so ask until one shows.
  stats_when(port, [](const json& now) {
    for (const json& w : now["workers"])
      if (w["state"] == "serving" && w["retires_in_seconds"].is_number()) return true;
    return false;
  });

}

TEST(Stats, responses_and_latencies_count_every_request_and_survive_retirement) {
  VassalUnderTest v(config("127.0.0.1:0", "max_worker_lifetime = \"300ms\"\n"), 2);
  int port = stats_port(v);
  ASSERT_NE(port, 0);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(http_get(v.http_port(), "/"));
  for (int i = 0; i < 3; ++i) {
    HttpClient c(v.http_port());
    c.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  ASSERT_TRUE(v.reaches_generation(1, 3));
  ASSERT_TRUE(v.reaches_generation(2, 3));
  json s = stats_of(port);
  EXPECT_EQ(s["responses"]["200"], 20) << s.dump(2);
  EXPECT_EQ(s["responses"]["400"], 3) << s.dump(2);
  EXPECT_EQ(s["request_duration_seconds"]["count"], 23);
  EXPECT_EQ(s["request_duration_seconds"]["buckets"].back()["count"], 23);
  auto metrics = http_get(port, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("suzerain_responses_total{vassal=\"app\",code=\"200\"} 20\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("suzerain_request_duration_seconds_count{vassal=\"app\"} 23\n"), std::string::npos);
}

TEST(Stats, metrics_are_prometheus_text_with_one_series_per_worker) {
  VassalUnderTest v(config("127.0.0.1:0", "max_requests = 5\n"), 2, "prom\"app");
  int port = stats_port(v);
  ASSERT_NE(port, 0);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(http_get(v.http_port(), "/"));
  stats_when(port, [](const json& s) { return s["respawns"]["max_requests"].get<int>() >= 1; });

  auto r = http_get(port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // Every sample belongs to a metric announced with HELP and TYPE, and has
  // the exposition format's shape (the quote in the vassal name escaped).
  std::regex sample(R"(^([a-z_]+)\{vassal="prom\\"app"(,[a-z_]+="[^"]*")*\} (-?[0-9.]+|NaN)$)");
  std::set<std::string> typed;
  std::istringstream lines(r->body);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (line.rfind("# HELP ", 0) != 0) {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
      std::string name = m[1];
      for (std::string suffix : {"_bucket", "_sum", "_count"})  // a histogram's series
        if (name.ends_with(suffix) && typed.count(name.substr(0, name.size() - suffix.size())))
          name.resize(name.size() - suffix.size());
      EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_NE(r->body.find("suzerain_worker_respawns_total{vassal=\"prom\\\"app\",cause=\"max_requests\"}"),
            std::string::npos) << r->body;
  const json stats = stats_of(port);  // the loop below must not range over a temporary's member
  for (const json& w : stats["workers"])
    EXPECT_NE(r->body.find("pid=\"" + std::to_string(w["pid"].get<pid_t>()) + "\""), std::string::npos);
}

// The inode of the unix socket listening on path, from /proc/net/unix. A connection's
// server side carries the listener's path too, even while it waits in the accept queue
// held by no process, so only the line flagged __SO_ACCEPTCON (a listener) counts.
std::string unix_socket_inode(const std::string& path) {
  std::ifstream in("/proc/net/unix");
  for (std::string line; std::getline(in, line);) {
    if (line.size() > path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) {
      std::istringstream fields(line);
      std::string f[7];  // Num RefCount Protocol Flags Type St Inode
      for (auto& x : f) fields >> x;
      if (f[3] == "00010000") return f[6];
    }
  }
  return "";
}

bool holds_socket(pid_t pid, const std::string& inode) {
  std::string want = "socket:[" + inode + "]";
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec).string() == want) return true;
  }
  return false;
}

TEST(Stats, a_unix_socket_is_private_answers_bad_requests_and_workers_do_not_hold_it) {
  TempDir dir;
  std::string path = (dir.path() / "stats.sock").string();
  VassalUnderTest v(config("unix:" + path), 2);
  ASSERT_TRUE(v.process().wait_for_line("stats on unix:", 30s));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  {
    HttpClient c(path);
    c.send("this is not http\r\n\r\n");
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  {
    HttpClient c(path);
    c.send("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->header("allow"), "GET, HEAD");
  }
  {
    HttpClient c(path);
    c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
  // A client that connects and says nothing does not stop the others.
  HttpClient silent(path);
  HttpClient c(path);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json s = json::parse(r->body);

  std::string inode = unix_socket_inode(path);
  ASSERT_FALSE(inode.empty());
  EXPECT_TRUE(holds_socket(v.process().pid(), inode));
  for (const json& w : s["workers"]) EXPECT_FALSE(holds_socket(w["pid"].get<pid_t>(), inode)) << w.dump();

  ASSERT_TRUE(http_get(v.http_port(), "/"));
  v.process().stop(SIGTERM, 30s);
  EXPECT_FALSE(std::filesystem::exists(path)) << "the socket file is removed at exit";
}

TEST(Stats, a_stats_address_other_hosts_can_reach_is_warned_about) {
  VassalUnderTest v(config("0.0.0.0:0"), 1);
  EXPECT_TRUE(v.process().wait_for_line("stats on 0\\.0\\.0\\.0:\\d+ can be reached from other hosts", 30s))
      << v.process().output();
}

TEST(Stats, a_loopback_stats_address_is_not_warned_about) {
  VassalUnderTest v(config("127.0.0.1:0"), 1);
  ASSERT_TRUE(v.process().wait_for_line("stats on 127\\.0\\.0\\.1:", 30s));
  ASSERT_TRUE(v.process().wait_for_line("every worker serving", 30s));  // logged after any warning
  EXPECT_EQ(v.process().count_lines("can be reached from other hosts"), 0);
}

// GET /health, a load balancer's readiness probe.
std::pair<int, std::string> health_of(int port) {
  auto r = http_get(port, "/health");
  return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
}

template <class Pred>
std::pair<int, std::string> health_when(int port, Pred pred) {
  auto until = std::chrono::steady_clock::now() + 30s;
  std::pair<int, std::string> h;
  while (std::chrono::steady_clock::now() < until) {
    h = health_of(port);
    if (pred(h)) return h;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "health never satisfied the condition; last: " << h.first << " " << h.second;
  return h;
}

TEST(Stats, health_is_ok_while_every_worker_serves_and_503_while_stopping) {
  VassalUnderTest v(config("127.0.0.1:0", "graceful_timeout = \"20s\"\n"), 2);
  int port = stats_port(v);
  ASSERT_NE(port, 0) << v.process().output();
  EXPECT_EQ(health_when(port, [](auto& h) { return h.first == 200; }).second, "ok\n");
  // A request in flight keeps the vassal stopping gracefully; meanwhile the
  // probe says so, and the balancer sends no more.
  HttpClient slow(v.http_port());
  slow.send("GET /sleep?3 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("sleeping for 3", 10s)) << v.process().output();
  ::kill(v.process().pid(), SIGTERM);
  auto h = health_when(port, [](auto& h) { return h.first == 503; });
  EXPECT_EQ(h.second, "stopping\n");
}

TEST(Stats, health_is_503_starting_until_the_first_workers_serve) {
  VassalUnderTest v(R"(
[app]
module = "hangs_at_fork"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
[lifetime]
ready_timeout = "60s"
[stats]
listen = "127.0.0.1:0"
)", 0);
  int port = stats_port(v);
  ASSERT_NE(port, 0) << v.process().output();
  ASSERT_TRUE(v.process().wait_for_line("worker 1 started", 30s));
  auto h = health_of(port);
  EXPECT_EQ(h.first, 503);
  EXPECT_EQ(h.second, "starting: 0 of 1 workers serving\n");
}

}  // namespace
}  // namespace suz::test
