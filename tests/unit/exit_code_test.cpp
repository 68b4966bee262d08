#include "core/exit_code.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "core/fork.hpp"
#include "tests/support/process.hpp"

namespace suz {
namespace {

using namespace std::chrono_literals;

int status_of(const std::function<ExitCode()>& child) {
  ForkHooks none;
  return test::wait_exit(fork_process(none, child), 5s).value_or(-1);
}

TEST(ExitCode, exit_codes_are_described_in_words) {
  EXPECT_EQ(describe_wait_status(status_of([] { return ExitCode::kAppLoadError; })),
            "exited with 4 (app load error)");
  EXPECT_EQ(describe_wait_status(status_of([] { return ExitCode::kOk; })), "exited with 0 (ok)");
  EXPECT_EQ(describe(99), "exit code 99");
}

TEST(ExitCode, signals_are_named) {
  EXPECT_EQ(describe_wait_status(status_of([] { ::raise(SIGKILL); return ExitCode::kOk; })),
            "killed by SIGKILL");
}

TEST(ExitCode, load_and_config_failures_are_permanent_others_are_not) {
  EXPECT_TRUE(is_permanent_failure(to_int(ExitCode::kAppLoadError)));
  EXPECT_TRUE(is_permanent_failure(to_int(ExitCode::kConfigInvalid)));
  EXPECT_FALSE(is_permanent_failure(to_int(ExitCode::kFailure)));
  EXPECT_FALSE(is_permanent_failure(to_int(ExitCode::kChildUncaught)));
}

}  // namespace
}  // namespace suz
