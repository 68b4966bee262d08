// The env file format (core/env_file.hpp), and how [vassal] env_file and
// [env] combine in a loaded vassal file.
#include "core/env_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/process.hpp"

namespace suz {
namespace {

EnvVars parsed(std::string_view text) {
  auto r = parse_env_file(text, "app.env");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().front().str());
  return r ? *r : EnvVars{};
}

TEST(EnvFile, reads_plain_exported_quoted_and_commented_lines) {
  EXPECT_EQ(parsed("# a comment\n\nA=1\nexport B = two words  \nC='lit $HOME \\n'\nD=\"a \\\"q\\\"\\nb\"\nE=x # note\nF=\nG=a#b\r\n"),
            (EnvVars{{"A", "1"}, {"B", "two words"}, {"C", "lit $HOME \\n"}, {"D", "a \"q\"\nb"}, {"E", "x"}, {"F", ""}, {"G", "a#b"}}));
}

TEST(EnvFile, each_bad_line_is_named_by_line_and_column_never_by_its_value) {
  auto r = parse_env_file("OK=1\nno equals\n1BAD=x\nQ=\"open\nR='a' tail\nLISTEN_PID=1\nS=a\"b\n", "app.env");
  ASSERT_FALSE(r.has_value());
  std::vector<std::string> got;
  for (const ConfigIssue& i : r.error()) got.push_back(i.str());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "app.env:2:1: expected KEY=VALUE, with KEY letters, digits and _",
                     "app.env:3:1: expected KEY=VALUE, with KEY letters, digits and _",
                     "app.env:4:3: Q: an unterminated quote",
                     "app.env:5:3: R: text after the closing quote",
                     "app.env:6:1: LISTEN_PID: reserved: the emperor, systemd or the vassal sets it",
                     "app.env:7:3: S: a quote inside an unquoted value",
                 }));
  for (const std::string& line : got) EXPECT_EQ(line.find("open"), std::string::npos);
}

TEST(EnvFile, names_are_what_a_shell_can_set) {
  EXPECT_TRUE(is_env_name("_A1"));
  EXPECT_FALSE(is_env_name("1A"));
  EXPECT_FALSE(is_env_name("A-B"));
  EXPECT_FALSE(is_env_name(""));
  EXPECT_TRUE(is_reserved_env_name("SUZERAIN_EMPEROR_FD"));
  EXPECT_TRUE(is_reserved_env_name("NOTIFY_SOCKET"));
  EXPECT_FALSE(is_reserved_env_name("SECRET_KEY"));
}

TEST(EnvFile, the_env_section_goes_over_the_env_file_relative_to_the_vassal_file) {
  test::TempDir dir;
  std::ofstream(dir.path() / "app.env") << "A=from file\nB=from file\n";
  std::ofstream(dir.path() / "app.toml") << "[vassal]\nenv_file = \"app.env\"\n[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n[env]\nB = \"from toml\"\nC = \"c\"\n";
  auto c = load_vassal_config(dir.path() / "app.toml");
  ASSERT_TRUE(c.has_value()) << c.error().front().str();
  EXPECT_EQ(c->env, (EnvVars{{"A", "from file"}, {"B", "from toml"}, {"C", "c"}}));
  EXPECT_EQ(c->vassal.env_file, dir.path() / "app.env");
}

}  // namespace
}  // namespace suz
