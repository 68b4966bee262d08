// Vassal config files: every file in configs/bad/ must be rejected with the
// diagnostics its "# expect:" lines name; every file in configs/good/ and the
// demo vassals in configs/vassals/ must load.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"

namespace suz {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::source_dir;

std::vector<fs::path> toml_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> expectations(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("# expect: ")) out.push_back(line.substr(10));
  return out;
}

std::string all_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.str() + "\n";
  return out;
}

class BadConfig : public testing::TestWithParam<fs::path> {};

TEST_P(BadConfig, is_rejected_with_the_expected_positioned_diagnostics) {
  const fs::path& file = GetParam();
  auto expected = expectations(file);
  ASSERT_FALSE(expected.empty()) << file << " has no '# expect:' line";
  ConfigResult result = load_vassal_config(file);
  ASSERT_FALSE(result.has_value()) << file << " was accepted";
  std::string got = all_issues(result.error());
  for (const std::string& e : expected) EXPECT_NE(got.find(e), std::string::npos) << "missing: " << e << "\ngot:\n" << got;
  for (const ConfigIssue& issue : result.error()) {
    // The vassal file, or the env file it names beside it.
    if (issue.file != file.string()) {
      EXPECT_EQ(fs::path(issue.file).parent_path(), file.parent_path()) << issue.str();
    }
    EXPECT_GT(issue.line, 0) << issue.str();
  }
  EXPECT_EQ(result.error().size(), expected.size()) << "unexpected extra diagnostics:\n" << got;
}

INSTANTIATE_TEST_SUITE_P(Files, BadConfig, testing::ValuesIn(toml_files(source_dir() / "tests/unit/configs/bad")),
                         [](const auto& info) { return info.param.stem().string(); });

class GoodConfig : public testing::TestWithParam<fs::path> {};

TEST_P(GoodConfig, loads) {
  ConfigResult result = load_vassal_config(GetParam());
  EXPECT_TRUE(result.has_value()) << (result ? "" : all_issues(result.error()));
}

std::vector<fs::path> good_files() {
  auto files = toml_files(source_dir() / "tests/unit/configs/good");
  auto demos = toml_files(source_dir() / "configs/vassals");
  files.insert(files.end(), demos.begin(), demos.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Files, GoodConfig, testing::ValuesIn(good_files()), [](const auto& info) {
  return info.param.parent_path().filename().string() + "_" + info.param.stem().string();
});

TEST(Config, at_least_fifteen_distinct_bad_files_are_checked) {
  EXPECT_GE(toml_files(source_dir() / "tests/unit/configs/bad").size(), 15u);
}

TEST(Config, a_minimal_file_gets_the_documented_defaults) {
  auto c = parse_vassal_config("[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:8080\"]\n",
                               "/srv/apps/hello.toml");
  ASSERT_TRUE(c.has_value()) << all_issues(c.error());
  EXPECT_EQ(c->vassal.name, "hello");
  EXPECT_EQ(c->app.module, "hello:application");
  EXPECT_EQ(c->app.chdir, fs::path("/srv/apps"));
  EXPECT_EQ(c->app.pythonpath, std::vector<fs::path>{"/srv/apps"});
  EXPECT_EQ(c->app.interpreter, InterpreterMode::kMain);
  EXPECT_EQ(c->server.workers, 2);
  EXPECT_EQ(c->server.threads, 1);
  EXPECT_EQ(c->server.max_header_size, 32u << 10);
  EXPECT_EQ(c->server.max_body_size, 0u);
  EXPECT_EQ(c->server.keepalive_timeout, 5s);
  EXPECT_EQ(c->lifetime.max_worker_lifetime, 1h);
  EXPECT_EQ(c->lifetime.max_requests, 0u);
  EXPECT_EQ(c->lifetime.max_rss, 0u);
  EXPECT_EQ(c->lifetime.harakiri, 0ms);
  EXPECT_EQ(c->lifetime.graceful_timeout, 30s);
  EXPECT_TRUE(c->spooler.dir.empty());
  EXPECT_EQ(c->spooler.max_attempts, 5);
  EXPECT_FALSE(c->stats.listen.has_value());
  EXPECT_EQ(c->log.format, LogFormat::kText);
  EXPECT_EQ(c->log.level, "info");
}

TEST(Config, every_key_is_read_into_its_field_with_paths_resolved_against_the_file) {
  auto c = load_vassal_config(source_dir() / "tests/unit/configs/good/everything.toml");
  ASSERT_TRUE(c.has_value()) << all_issues(c.error());
  fs::path dir = source_dir() / "tests/unit/configs/good";
  dir = fs::absolute(dir).lexically_normal();
  EXPECT_EQ(c->vassal.name, "shop");
  EXPECT_EQ(c->vassal.uid, "www-data");
  EXPECT_EQ(c->vassal.gid, "33");
  EXPECT_EQ(c->app.module, "shop.wsgi:application");
  EXPECT_EQ(c->app.chdir, dir / "src");
  EXPECT_EQ(c->app.pythonpath, (std::vector<fs::path>{dir / "src", dir / "src/lib"}));
  EXPECT_EQ(c->app.virtualenv, dir / "venv");
  EXPECT_EQ(c->app.interpreter, InterpreterMode::kIsolated);
  ASSERT_EQ(c->mounts.size(), 1u);
  EXPECT_EQ(c->mounts[0].path, "/admin");
  EXPECT_EQ(c->mounts[0].module, "admin:app");
  ASSERT_EQ(c->server.http.size(), 2u);
  EXPECT_EQ(c->server.http[1].path, (dir / "run/shop.sock").string());
  EXPECT_EQ(c->server.uwsgi[0].host, "::1");
  EXPECT_EQ(c->server.workers, 4);
  EXPECT_EQ(c->server.threads, 8);
  EXPECT_EQ(c->server.backlog, 128);
  EXPECT_EQ(c->server.max_connections, 500);
  EXPECT_EQ(c->server.max_header_size, 16u << 10);
  EXPECT_EQ(c->server.max_body_size, 100u << 20);
  EXPECT_EQ(c->server.header_timeout, 5s);
  EXPECT_EQ(c->server.keepalive_timeout, 0s);
  EXPECT_EQ(c->server.io_timeout, 60s);
  EXPECT_EQ(c->lifetime.max_worker_lifetime, 200ms);
  EXPECT_EQ(c->lifetime.max_requests, 1000u);
  EXPECT_EQ(c->lifetime.max_rss, 512ull << 20);
  EXPECT_EQ(c->lifetime.harakiri, 30s);
  EXPECT_EQ(c->lifetime.graceful_timeout, 60s);
  EXPECT_EQ(c->spooler.dir, (dir / "spool").string());
  EXPECT_EQ(c->spooler.processes, 2);
  EXPECT_EQ(c->spooler.handler, "tasks:handle");
  EXPECT_EQ(c->spooler.max_attempts, 3);
  EXPECT_EQ(c->spooler.max_jobs, 500u);
  EXPECT_EQ(c->spooler.max_lifetime, 1h);
  EXPECT_EQ(c->spooler.harakiri, 5min);
  ASSERT_TRUE(c->stats.listen.has_value());
  EXPECT_EQ(c->stats.listen->port, 9191);
  EXPECT_EQ(c->log.format, LogFormat::kJson);
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_EQ(c->log.file, (dir / "log/shop.log").string());
}

TEST(Config, an_asgi_vassal_reads_its_interface_loop_and_lifespan_and_its_mounts_inherit_the_interface) {
  auto c = load_vassal_config(source_dir() / "tests/unit/configs/good/asgi.toml");
  ASSERT_TRUE(c.has_value()) << all_issues(c.error());
  EXPECT_EQ(c->app.interface, AppInterface::kAsgi);
  EXPECT_EQ(c->app.loop, EventLoopKind::kUvloop);
  EXPECT_EQ(c->app.lifespan, LifespanMode::kOn);
  ASSERT_EQ(c->mounts.size(), 1u);
  auto wsgi = parse_vassal_config("[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:8080\"]\n", "/srv/h.toml");
  ASSERT_TRUE(wsgi.has_value());
  EXPECT_EQ(wsgi->app.interface, AppInterface::kWsgi);
  EXPECT_EQ(wsgi->app.loop, EventLoopKind::kAuto);
  EXPECT_EQ(wsgi->app.lifespan, LifespanMode::kAuto);
}

TEST(Config, a_single_string_is_accepted_where_a_list_is_expected) {
  auto c = parse_vassal_config("[app]\nmodule = \"hello\"\n[server]\nhttp = \"127.0.0.1:8080\"\n", "x.toml");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->server.http.size(), 1u);
}

TEST(Config, a_spooler_only_vassal_needs_no_listener) {
  auto c = parse_vassal_config("[app]\nmodule = \"hello\"\n[spooler]\ndir = \"/var/spool/x\"\nhandler = \"tasks:run\"\n",
                               "x.toml");
  EXPECT_TRUE(c.has_value()) << (c ? "" : all_issues(c.error()));
}

TEST(Config, a_missing_file_and_a_directory_are_clear_errors) {
  auto missing = load_vassal_config("/nonexistent/vassal.toml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error()[0].str().find("/nonexistent/vassal.toml: cannot read: No such file"), std::string::npos);
  auto dir = load_vassal_config("/tmp");
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error()[0].str().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace suz
