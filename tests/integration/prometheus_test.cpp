// configs/examples/prometheus.toml end to end: prometheus_client's
// multiprocess mode, its dead workers marked by @suzerain.worker_exit.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string example_with(const std::filesystem::path& dir) {
  std::ifstream in(source_dir() / "configs/examples/prometheus.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string toml = text.str();
  toml = std::regex_replace(toml, std::regex("chdir = \"../apps\""),
                            "chdir = \"" + (source_dir() / "configs/apps").string() + "\"");
  toml = std::regex_replace(toml, std::regex("127\\.0\\.0\\.1:8081"), "127.0.0.1:0");
  return std::regex_replace(toml, std::regex("/run/shop-prometheus"), dir.string());
}

bool has_live_file_of(const std::filesystem::path& dir, const std::string& pid) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find("livesum_" + pid + ".db") != std::string::npos) return true;
  return false;
}

TEST(Prometheus, the_multiprocess_example_sums_every_worker_and_a_replaced_one_is_marked_dead) {
  if (!std::filesystem::exists("/usr/lib/python3/dist-packages/prometheus_client")) GTEST_SKIP() << "python3-prometheus-client";
  TempDir metrics;
  VassalUnderTest v(example_with(metrics.path()), 2);
  int port = v.http_port();
  ASSERT_NE(port, 0) << v.process().output();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(http_get(port, "/"));
  // A worker that served some of them (the kernel may have given worker 1
  // none, and a worker counts nothing before its first request).
  std::string old_pid, slot;
  for (const char* id : {"1", "2"}) {
    auto started = v.process().wait_for_line(std::string("worker ") + id + " started \\(pid (\\d+)", 1s);
    ASSERT_TRUE(started);
    if (old_pid.empty() && has_live_file_of(metrics.path(), (*started)[1])) {
      old_pid = (*started)[1];
      slot = id;
    }
  }
  ASSERT_FALSE(old_pid.empty()) << "no worker counted";

  ::kill(v.process().pid(), SIGUSR2);  // every worker replaced
  ASSERT_TRUE(v.process().wait_for_line("reload done", 30s)) << v.process().output();
  ASSERT_TRUE(v.process().wait_for_line("worker " + slot + " \\(pid " + old_pid + "\\) retired: exited with 0", 30s))
      << v.process().output();
  EXPECT_FALSE(has_live_file_of(metrics.path(), old_pid)) << "worker_exit marked it dead";

  auto r = http_get(port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("app_requests_total 40.0"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("app_in_progress 0.0"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace suz::test
