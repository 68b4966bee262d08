#pragma once
// Exit codes carry meaning across the process boundary: a child turns its
// failure into one of these, and the parent turns it back into policy
// (restart, back off, give up). Keep the numbers stable; they are an interface.
#include <string>

namespace suz {

enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,         // generic runtime failure
  kUsage = 2,           // bad command-line arguments
  kBootError = 3,       // could not set up (bind, chdir, privileges): restarting won't help
  kAppLoadError = 4,    // the Python app failed to import: restarting won't help
  kConfigInvalid = 5,   // the config file is invalid
  kChildUncaught = 70,  // a forked child's entry threw (EX_SOFTWARE)
  kForkHookFailed = 71, // an after-fork child hook threw
  kNotReady = 72,       // a forked child did not become ready in time
};

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }

// "app load error" for 4, "exit code 9" for unknown ones.
std::string describe(int exit_code);

// A waitpid() status in words: "exited with 4 (app load error)", "killed by SIGKILL".
std::string describe_wait_status(int status);

// True when restarting the same thing is pointless until its config changes.
bool is_permanent_failure(int exit_code);

}  // namespace suz
