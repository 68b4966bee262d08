// What a vassal file may not do to whoever reads it (vassal --check, the
// emperor): block, exhaust memory, overflow the stack, flood the log, or put
// control bytes on the operator's terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "core/config_file.hpp"
#include "core/log.hpp"
#include "tests/support/process.hpp"

namespace suz {
namespace {

namespace fs = std::filesystem;

const char* kMinimal = "[app]\nmodule = \"hello:application\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n";

std::string all_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.str() + "\n";
  return out;
}

TEST(ConfigFile, a_fifo_is_refused_at_once_without_being_opened) {
  test::TempDir dir;
  fs::path fifo = dir.path() / "x.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto read = read_config_file(fifo);  // would block forever if it opened the FIFO for reading
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().str().find("is a FIFO, not a vassal file"), std::string::npos) << read.error().str();
}

TEST(ConfigFile, a_symlink_to_dev_zero_is_refused_as_a_device) {
  test::TempDir dir;
  fs::create_symlink("/dev/zero", dir.path() / "x.toml");
  auto read = read_config_file(dir.path() / "x.toml");
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().str().find("is a character device"), std::string::npos) << read.error().str();
}

TEST(ConfigFile, a_symlink_to_a_regular_file_is_followed) {
  test::TempDir dir;
  fs::path real = dir.write("real.toml", kMinimal);
  fs::create_symlink(real, dir.path() / "x.toml");
  auto read = read_config_file(dir.path() / "x.toml");
  ASSERT_TRUE(read) << read.error().str();
  EXPECT_EQ(*read, kMinimal);
}

TEST(ConfigFile, a_file_over_the_limit_is_one_positioned_error) {
  test::TempDir dir;
  std::string text = std::string(kMinimal) + std::string(kMaxConfigFileBytes, '#');
  auto result = load_vassal_config(dir.write("big.toml", text));
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), 1u) << all_issues(result.error());
  const ConfigIssue& issue = result.error().front();
  EXPECT_EQ(issue.line, 5);  // the limit falls in the comment after the four lines
  EXPECT_NE(issue.message.find("longer than 1MiB"), std::string::npos) << issue.str();
}

TEST(ConfigFile, a_file_just_at_the_limit_is_read) {
  test::TempDir dir;
  std::string text = kMinimal;
  text += "#" + std::string(kMaxConfigFileBytes - text.size() - 2, 'x') + "\n";
  ASSERT_EQ(text.size(), kMaxConfigFileBytes);
  auto result = load_vassal_config(dir.write("edge.toml", text));
  EXPECT_TRUE(result) << all_issues(result.error());
}

TEST(ConfigLimits, a_module_of_thirty_thousand_characters_is_an_error_not_a_crash) {
  // std::regex recursed once per character here and overflowed the stack.
  std::string toml = "[app]\nmodule = \"" + std::string(30'000, 'a') + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n";
  auto result = parse_vassal_config(toml, "long.toml");
  ASSERT_FALSE(result);
  EXPECT_NE(all_issues(result.error()).find("long.toml:2:10: [app] module: a string of 30000 bytes; the most a value "
                                            "may have is 4096"),
            std::string::npos)
      << all_issues(result.error());
}

TEST(ConfigLimits, a_dotted_module_at_the_length_limit_is_checked_by_hand) {
  std::string module = "a";
  while (module.size() + 2 <= kMaxConfigString - 4) module += ".a";  // room for ":app"
  std::string toml = "[app]\nmodule = \"" + module + ":app\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n";
  auto result = parse_vassal_config(toml, "dotted.toml");
  ASSERT_TRUE(result) << all_issues(result.error());
  for (const char* bad : {"a..b", ".a", "a.", "1a", "a:", ":a", "a:b:c", "a-b", "a b", ""}) {
    auto r = parse_vassal_config(std::string("[app]\nmodule = \"") + bad + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n",
                                 "bad.toml");
    if (std::string(bad).empty()) continue;  // empty: the key counts as absent
    EXPECT_FALSE(r) << "accepted module \"" << bad << "\"";
  }
}

TEST(ConfigLimits, every_string_value_has_the_limit_in_lists_too) {
  std::string toml = "[app]\nmodule = \"hello\"\npythonpath = [\".\", \"" + std::string(5000, 'p') +
         "\"]\n[server]\nhttp = [\"127.0.0.1:0\"]\n";
  auto result = parse_vassal_config(toml, "list.toml");
  ASSERT_FALSE(result);
  EXPECT_NE(all_issues(result.error()).find("list.toml:3:20: [app] pythonpath: a string of 5000 bytes"),
            std::string::npos)
      << all_issues(result.error());
}

TEST(ConfigLimits, at_most_fifty_problems_are_reported_then_how_many_more) {
  std::string toml = kMinimal;
  for (int i = 0; i < 1000; ++i) toml += "[server" + std::to_string(i) + "]\n";
  auto result = parse_vassal_config(toml, "many.toml");
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), kMaxConfigIssues + 1);
  EXPECT_EQ(result.error().back().str(), "many.toml: and 950 more problems (at most 50 are reported per file)");
  EXPECT_EQ(problem_count(result.error()), 1000u);
  // The first fifty by position, in order, whatever order they were found in.
  for (std::size_t i = 0; i < kMaxConfigIssues; ++i) EXPECT_EQ(result.error()[i].line, 5 + static_cast<int>(i));
}

TEST(ConfigLimits, a_line_about_a_huge_key_is_cut) {
  auto result = parse_vassal_config(std::string(kMinimal) + std::string(100'000, 'k') + " = 1\n", "key.toml");
  ASSERT_FALSE(result);
  std::string line = result.error().front().str();
  EXPECT_LT(line.size(), 2100u);
  EXPECT_NE(line.find("bytes more)"), std::string::npos) << line.substr(0, 200);
}

TEST(ConfigLimits, control_bytes_in_values_and_names_are_escaped) {
  auto result = parse_vassal_config("[app]\nmodule = \"\\u001b[31mred\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n",
                                    "t\x1b]0;title\x07.toml");
  ASSERT_FALSE(result);
  std::string text = all_issues(result.error());
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_NE(text.find("t\\x1b]0;title\\x07.toml:2:10: [app] module: \"\\x1b[31mred\""), std::string::npos) << text;
  EXPECT_EQ(escaped("a\nb\tc\x7f\xc3\xa9"), "a\\x0ab\\x09c\\x7f\xc3\xa9");
}

}  // namespace
}  // namespace suz
