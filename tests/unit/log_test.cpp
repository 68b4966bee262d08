#include "core/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"

namespace suz {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Log, text_lines_name_level_process_and_pid) {
  test::TempDir dir;
  auto file = dir.path() / "log.txt";
  init_logging("emperor", LogOptions{.file = file.string()});
  spdlog::warn("vassal {}: started (pid {})", "hello.toml", 123);
  std::string text = slurp(file);
  EXPECT_NE(text.find("warning  emperor (pid " + std::to_string(::getpid()) +
                      "): vassal hello.toml: started (pid 123)\n"),
            std::string::npos)
      << text;
  init_logging("test");
}

TEST(Log, json_lines_are_valid_json_with_escaped_messages) {
  test::TempDir dir;
  auto file = dir.path() / "log.json";
  init_logging("vassal hello", LogOptions{.format = LogFormat::kJson, .file = file.string()});
  spdlog::error("a \"quoted\" word,\na newline, a tab\t and a bell \x07");
  auto j = nlohmann::json::parse(slurp(file));
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["process"], "vassal hello");
  EXPECT_EQ(j["pid"], ::getpid());
  EXPECT_EQ(j["msg"], "a \"quoted\" word,\na newline, a tab\t and a bell \x07");
  EXPECT_TRUE(j["time"].get<std::string>().ends_with("Z"));
  init_logging("test");
}

TEST(Log, relabelling_changes_the_process_name_of_later_lines) {
  test::TempDir dir;
  auto file = dir.path() / "log.txt";
  init_logging("vassal hello", LogOptions{.file = file.string()});
  spdlog::info("before");
  set_process_label("vassal hello: worker 3");
  spdlog::info("after");
  std::string text = slurp(file);
  EXPECT_NE(text.find("vassal hello (pid"), std::string::npos);
  EXPECT_NE(text.find("vassal hello: worker 3 (pid"), std::string::npos);
  init_logging("test");
}

TEST(Log, level_filters_lower_levels) {
  test::TempDir dir;
  auto file = dir.path() / "log.txt";
  init_logging("p", LogOptions{.level = "warning", .file = file.string()});
  spdlog::info("quiet");
  spdlog::warn("loud");
  std::string text = slurp(file);
  EXPECT_EQ(text.find("quiet"), std::string::npos);
  EXPECT_NE(text.find("loud"), std::string::npos);
  init_logging("test");
}

TEST(Log, reopen_follows_a_rotated_file) {
  test::TempDir dir;
  auto file = dir.path() / "app.log";
  init_logging("p", LogOptions{.file = file.string()});
  spdlog::info("old line");
  std::filesystem::rename(file, dir.path() / "app.log.1");
  reopen_log();
  spdlog::info("new line");
  EXPECT_NE(slurp(dir.path() / "app.log.1").find("old line"), std::string::npos);
  std::string fresh = slurp(file);
  EXPECT_NE(fresh.find("new line"), std::string::npos);
  EXPECT_EQ(fresh.find("old line"), std::string::npos);
  init_logging("test");
}

TEST(Log, formats_and_levels_are_validated) {
  EXPECT_TRUE(parse_log_format("json").has_value());
  EXPECT_FALSE(parse_log_format("xml").has_value());
  EXPECT_TRUE(is_log_level("warning"));
  EXPECT_TRUE(is_log_level("off"));
  EXPECT_FALSE(is_log_level("loud"));
}

}  // namespace
}  // namespace suz
