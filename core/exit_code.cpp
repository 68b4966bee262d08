#include "core/exit_code.hpp"

#include <sys/wait.h>

#include <cstring>

namespace suz {

std::string describe(int exit_code) {
  switch (static_cast<ExitCode>(exit_code)) {
    case ExitCode::kOk: return "ok";
    case ExitCode::kFailure: return "failure";
    case ExitCode::kUsage: return "usage error";
    case ExitCode::kBootError: return "boot error";
    case ExitCode::kAppLoadError: return "app load error";
    case ExitCode::kConfigInvalid: return "invalid config";
    case ExitCode::kChildUncaught: return "uncaught exception in child";
    case ExitCode::kForkHookFailed: return "after-fork hook failed";
    case ExitCode::kNotReady: return "not ready in time";
  }
  return "exit code " + std::to_string(exit_code);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) {
    int code = WEXITSTATUS(status);
    return "exited with " + std::to_string(code) + " (" + describe(code) + ")";
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    std::string name = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
    return "killed by " + name + (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "status " + std::to_string(status);
}

bool is_permanent_failure(int exit_code) {
  auto c = static_cast<ExitCode>(exit_code);
  return c == ExitCode::kAppLoadError || c == ExitCode::kConfigInvalid ||
         c == ExitCode::kUsage;
}

}  // namespace suz
