// The app's environment ([env] and [vassal] env_file) against the real
// binaries: set before CPython starts, per vassal, renewed on reload, never
// logged.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"
#include "tests/support/vassal.hpp"
#include "core/exit_code.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;

std::string value_of(int port, const std::string& name) {
  auto r = http_get(port, "/" + name);
  if (!r) return "(no answer)";
  return r->status == 200 ? r->body : "(" + std::to_string(r->status) + ")";
}

std::string env_vassal(const std::string& env) {
  return "[app]\nmodule = \"env_app:app\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 2\n"
         "[lifetime]\ngraceful_timeout = \"5s\"\n" + env;
}

TEST(Env, the_app_sees_its_env_file_and_env_table_and_cpython_its_python_variables) {
  TempDir dir;
  std::ofstream(dir.path() / "app.env") << "# secrets\nexport DATABASE_URL=postgres://db/app\nSECRET_KEY='s3cr3t-value'\nMODE=from-file\n";
  VassalUnderTest v(env_vassal("[env]\nMODE = \"from-toml\"\nPYTHONDONTWRITEBYTECODE = \"1\"\n") + "[vassal]\nenv_file = \"" +
                    (dir.path() / "app.env").string() + "\"\n", 2);
  int port = v.http_port();
  ASSERT_NE(port, 0) << v.process().output();
  EXPECT_EQ(value_of(port, "DATABASE_URL"), "postgres://db/app");
  EXPECT_EQ(value_of(port, "SECRET_KEY"), "s3cr3t-value");
  EXPECT_EQ(value_of(port, "MODE"), "from-toml");
  EXPECT_EQ(value_of(port, "dont_write_bytecode"), "1");
  EXPECT_EQ(v.process().output().find("s3cr3t-value"), std::string::npos) << "a value was logged";
}

TEST(Env, two_vassals_under_one_emperor_see_their_own_values_and_a_change_arrives_on_reload_with_no_failed_request) {
  EmperorUnderTest e({{"blue", env_vassal("[env]\nCOLOUR = \"blue\"\n")}, {"green", env_vassal("[env]\nCOLOUR = \"green\"\n")}});
  int blue = e.port_of("blue"), green = e.port_of("green");
  pid_t first = e.wait_serving("blue");
  ASSERT_NE(first, 0) << e.process().output();
  ASSERT_NE(e.wait_serving("green"), 0) << e.process().output();
  EXPECT_EQ(value_of(blue, "COLOUR"), "blue");
  EXPECT_EQ(value_of(green, "COLOUR"), "green");
  EXPECT_EQ(value_of(blue, "NOT_SET_ANYWHERE"), "(404)");

  Probe probe(blue, "/COLOUR");
  e.write("blue", env_vassal("[env]\nCOLOUR = \"navy\"\n"));
  ASSERT_NE(e.wait_serving("blue", 2), 0) << e.process().output();
  // The old master's workers may still take a connection until they have
  // stopped; once it has exited, every answer is the new one's.
  ASSERT_TRUE(e.process().wait_for_line("vassal blue: pid " + std::to_string(first) + " exited", 30s))
      << e.process().output();
  EXPECT_EQ(value_of(blue, "COLOUR"), "navy");
  probe.stop();
  EXPECT_GT(probe.ok(), 0);
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
  EXPECT_EQ(value_of(green, "COLOUR"), "green");
}

TEST(Env, vassal_check_names_the_env_file_line_of_a_bad_line_without_its_value) {
  TempDir dir;
  std::ofstream(dir.path() / "bad.env") << "GOOD=1\nTOKEN=\"hunter2 never closed\n";
  auto file = dir.write("app.toml", "[vassal]\nenv_file = \"bad.env\"\n[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  auto r = run({program("vassal"), "--check", file.string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kConfigInvalid));
  EXPECT_NE(r.err.find((dir.path() / "bad.env").string() + ":2:7: TOKEN: an unterminated quote"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace suz::test
