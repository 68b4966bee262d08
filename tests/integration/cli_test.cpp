// Every program's command line, run as the real binary.
#include <gtest/gtest.h>

#include "core/exit_code.hpp"
#include "core/version.hpp"
#include "tests/support/process.hpp"

namespace suz {
namespace {

using test::program;
using test::run;
using test::source_dir;

class EveryProgram : public testing::TestWithParam<std::string> {};

TEST_P(EveryProgram, help_describes_usage_and_exits_zero) {
  auto r = run({program(GetParam()), "--help"});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_NE(r.out.find("Usage:"), std::string::npos) << r.out;
}

TEST_P(EveryProgram, version_names_program_and_version) {
  auto r = run({program(GetParam()), "--version"});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_NE(r.out.find(GetParam() + " (suzerain) " + kVersion), std::string::npos) << r.out;
}

TEST_P(EveryProgram, unknown_option_is_a_usage_error_pointing_at_help) {
  auto r = run({program(GetParam()), "--no-such-option"});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kUsage));
  EXPECT_NE(r.err.find("Run with --help"), std::string::npos) << r.err;
}

TEST(VassalCli, an_unknown_option_is_named) {
  auto r = run({program("vassal"), "--no-such-option", "app.toml"});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kUsage));
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Programs, EveryProgram, testing::Values("emperor", "vassal", "spooler"));

TEST(VassalCheck, a_valid_file_exits_zero) {
  auto r = run({program("vassal"), "--check", (source_dir() / "configs/vassals/hello.toml").string()});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_NE(r.out.find("ok (vassal hello)"), std::string::npos) << r.out;
}

TEST(VassalCheck, an_invalid_file_exits_non_zero_naming_line_column_and_key) {
  auto file = source_dir() / "tests/unit/configs/bad/wrong_type_integer.toml";
  auto r = run({program("vassal"), "--check", file.string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kConfigInvalid));
  EXPECT_NE(r.err.find(file.string() + ":6:11: [server] workers: expected an integer, got a string"),
            std::string::npos)
      << r.err;
}

TEST(VassalCheck, a_missing_file_exits_non_zero_with_the_reason) {
  auto r = run({program("vassal"), "--check", "/nonexistent/app.toml"});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kConfigInvalid));
  EXPECT_NE(r.err.find("/nonexistent/app.toml: cannot read"), std::string::npos) << r.err;
}

TEST(EmperorCli, a_missing_vassal_directory_is_a_usage_error) {
  auto r = run({program("emperor"), "--vassals", "/nonexistent/vassals"});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kUsage));
  EXPECT_NE(r.err.find("/nonexistent/vassals"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace suz
