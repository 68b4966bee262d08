// emperor --vassal-logs DIR: each vassal's log, stdout and stderr in
// DIR/NAME.log, reopened on USR1; rotated under load, no line lost or split.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "core/socket.hpp"
#include "tests/support/emperor.hpp"
#include "tests/support/probe.hpp"

namespace suz::test {
namespace {

int free_port() {
  Fd s = listen_on(parse_listen_address("127.0.0.1:0").value());
  return local_address(s).port;
}

std::string logged_on(int port) {
  return "[app]\nmodule = \"validated:application\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:" +
         std::to_string(port) + "\"]\nworkers = 2\nthreads = 2\n[log]\naccess = \"stderr\"\n"
         "access_format = \"ACCESS {path} {status}\"\n";
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int access_lines(const std::filesystem::path& file) {
  auto lines = lines_of(file);
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("ACCESS"); }));
}

TEST(VassalLogs, each_vassal_has_its_file_and_a_rotation_under_load_loses_no_line) {
  TempDir logs;
  int shop = free_port(), blog = free_port();
  EmperorUnderTest e({{"shop", logged_on(shop)}, {"blog", logged_on(blog)}}, {"--vassal-logs", logs.path().string()});
  ASSERT_NE(e.wait_serving("shop"), 0) << e.process().output();
  ASSERT_NE(e.wait_serving("blog"), 0) << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal shop \\(pid \\d+\\): listening"), 0) << "in its own file, not the emperor's";
  auto shop_log = logs.path() / "shop.log";
  auto first = lines_of(shop_log);
  EXPECT_TRUE(std::any_of(first.begin(), first.end(), [](const std::string& l) {
    return l.find("vassal shop (pid") != l.npos && l.find("listening on 127.0.0.1:") != l.npos;
  })) << "the master's own lines";
  EXPECT_TRUE(std::filesystem::exists(logs.path() / "blog.log"));

  Probe probe(shop);
  auto until = std::chrono::steady_clock::now() + 30s;
  while (access_lines(shop_log) < 50 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);  // lines are written in batches: look again
  std::filesystem::rename(shop_log, logs.path() / "shop.log.1");  // logrotate's move
  ::kill(e.process().pid(), SIGUSR1);
  ASSERT_TRUE(e.process().wait_for_line("reopening logs", 10s));
  while ((!std::filesystem::exists(shop_log) || access_lines(shop_log) < 50) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  probe.stop();
  ASSERT_TRUE(e.process().stop(SIGTERM, 60s));  // every buffered line is written as the workers exit

  EXPECT_EQ(probe.failed(), 0);
  auto old_lines = lines_of(logs.path() / "shop.log.1");
  auto new_lines = lines_of(shop_log);
  int in_old = access_lines(logs.path() / "shop.log.1"), in_new = access_lines(shop_log);
  EXPECT_GE(in_old, 50);
  EXPECT_GE(in_new, 50) << "the workers moved to the new file";
  EXPECT_EQ(in_old + in_new, probe.ok()) << "one line per request, none lost";
  std::regex whole("^ACCESS / 200$");
  for (const auto* lines : {&old_lines, &new_lines})
    for (const std::string& l : *lines)
      if (l.find("ACCESS") != l.npos) EXPECT_TRUE(std::regex_match(l, whole)) << "split or mixed: " << l;
}

}  // namespace
}  // namespace suz::test
