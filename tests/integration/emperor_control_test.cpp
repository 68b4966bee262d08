// `emperor stop NAME`, `emperor start NAME` and the control socket's errors,
// against a real emperor and real vassals (`emperor reload NAME` is in
// reload_test.cpp, beside the other reloads).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "core/socket.hpp"
#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace suz::test {
namespace {

RunResult emperor_command(const EmperorUnderTest& e, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {program("emperor")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--vassals", e.dir().path().string()});
  return run(argv, 60s);
}

std::string state_of(const EmperorUnderTest& e, const std::string& name) {
  auto r = emperor_command(e, {"status", "--json"});
  if (r.exit_code() != 0) return "(no status: " + r.err + ")";
  auto doc = nlohmann::json::parse(r.out);
  for (const auto& v : doc["vassals"])
    if (v["name"] == name) return v["state"].get<std::string>();
  return "(not listed)";
}

// What the control socket answers to these raw bytes (sent, then shutdown).
std::string raw_answer(const EmperorUnderTest& e, const std::string& bytes) {
  Fd s = connect_to(ListenAddress{ListenAddress::Kind::kUnix, "", 0, (e.dir().path() / ".emperor.sock").string()});
  if (!bytes.empty()) EXPECT_EQ(::send(s.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  ::shutdown(s.get(), SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{s.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return out + "(timeout)";
    ssize_t n = ::read(s.get(), buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

TEST(EmperorControl, stop_keeps_a_vassal_stopped_through_a_touch_until_start_and_leaves_the_others_alone) {
  EmperorUnderTest e({{"web", tiny_vassal()}, {"bystander", tiny_vassal()}});
  int port = e.port_of("web");
  pid_t web = e.wait_serving("web");
  pid_t bystander = e.wait_serving("bystander");
  ASSERT_NE(web, 0) << e.process().output();

  auto stop = emperor_command(e, {"stop", "web"});
  ASSERT_EQ(stop.exit_code(), 0) << stop.err;
  EXPECT_EQ(stop.out, "web: stopped\n");
  // Answered once the master is gone: its port refuses at once, its state says so.
  // (The emperor logs the exit before it answers; its log reaches the test
  // through a pipe, so it is waited for, not counted at once.)
  EXPECT_TRUE(e.process().wait_for_line("vassal web: pid " + std::to_string(web) + " exited with 0", 10s))
      << e.process().output();
  EXPECT_TRUE(refuses(port));
  EXPECT_EQ(state_of(e, "web"), "stopped");

  e.touch("web");
  ASSERT_TRUE(e.process().wait_for_line("vassal web: stopped by `emperor stop`: the change starts nothing", 30s))
      << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal web: started pid"), 1);
  auto again = emperor_command(e, {"stop", "web.toml"});
  EXPECT_EQ(again.exit_code(), 0) << again.err;
  EXPECT_EQ(again.out, "web: already stopped\n");

  auto start = emperor_command(e, {"start", "web"});
  ASSERT_EQ(start.exit_code(), 0) << start.err;
  pid_t restarted = e.wait_serving("web", 2);
  EXPECT_EQ(start.out, "web: serving (pid " + std::to_string(restarted) + ")\n");
  EXPECT_EQ(state_of(e, "web"), "running");
  // Its sockets were closed at the stop: bound afresh.
  auto listening = e.process().wait_for_line("vassal web \\(pid " + std::to_string(restarted) + "\\): listening on [^ ]*:(\\d+)", 10s);
  ASSERT_TRUE(listening);
  auto r = http_get(std::stoi((*listening)[1]), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(e.wait_serving("bystander"), bystander);
  EXPECT_EQ(e.process().count_lines("vassal bystander: started pid"), 1);

  auto running = emperor_command(e, {"start", "web"});
  EXPECT_EQ(running.exit_code(), 0) << running.err;
  EXPECT_EQ(running.out, "web: already running (pid " + std::to_string(restarted) + ")\n");
}

TEST(EmperorControl, a_start_that_cannot_serve_fails_with_the_reason) {
  EmperorUnderTest e({{"web", tiny_vassal()}});
  ASSERT_NE(e.wait_serving("web"), 0) << e.process().output();
  ASSERT_EQ(emperor_command(e, {"stop", "web"}).exit_code(), 0);
  e.write("web", tiny_vassal("import_error"));
  ASSERT_TRUE(e.process().wait_for_line("vassal web: stopped by `emperor stop`", 30s));
  auto start = emperor_command(e, {"start", "web"});
  EXPECT_EQ(start.exit_code(), to_int(ExitCode::kFailure));
  EXPECT_NE(start.err.find("emperor start: web: pid "), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("exited with 4"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("before serving"), std::string::npos) << start.err;

  e.write("web", "[app]\nmodule = \"lifetime_app\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = \"two\"\n");
  auto reload = emperor_command(e, {"reload", "web"});
  EXPECT_EQ(reload.exit_code(), to_int(ExitCode::kFailure));
  EXPECT_NE(reload.err.find("web.toml:5:11: [server] workers: expected an integer"), std::string::npos) << reload.err;
}

TEST(EmperorControl, an_unknown_name_or_command_is_a_clear_error) {
  EmperorUnderTest e({{"web", tiny_vassal()}, {"api", tiny_vassal()}});
  ASSERT_NE(e.wait_serving("web"), 0);
  auto unknown = emperor_command(e, {"reload", "nope"});
  EXPECT_EQ(unknown.exit_code(), to_int(ExitCode::kFailure));
  EXPECT_EQ(unknown.err, "emperor reload: no vassal named \"nope\" (vassals: api, web)\n");
  auto missing = emperor_command(e, {"stop"});
  EXPECT_EQ(missing.exit_code(), to_int(ExitCode::kUsage));
  EXPECT_NE(missing.err.find("NAME is required"), std::string::npos) << missing.err;

  // A raw client: a line the emperor does not know, and none at all (the status).
  auto answer = nlohmann::json::parse(raw_answer(e, "restart web\n"));
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_NE(answer["error"].get<std::string>().find("unknown command \"restart\""), std::string::npos) << answer;
  auto status = nlohmann::json::parse(raw_answer(e, ""));
  EXPECT_EQ(status["vassals"].size(), 2u) << status;
}

}  // namespace
}  // namespace suz::test
