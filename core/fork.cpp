#include "core/fork.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <initializer_list>
#include <string_view>
#include <system_error>

#include "core/fd.hpp"
#include "core/signals.hpp"

namespace suz {
namespace {

// Only async-signal-safe calls here: this runs in a child before its hooks.
// Several pieces, one line: each piece is a separate write, so a line may
// interleave with another process's, which is acceptable for these rare ones.
void raw_stderr(std::initializer_list<std::string_view> pieces) noexcept {
  for (std::string_view p : pieces) write_all(STDERR_FILENO, p.data(), p.size());
  write_all(STDERR_FILENO, "\n", 1);
}

std::string_view what_of(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// The parent's handlers point into its event loop; in the child they would
// write to the parent's wake-up pipe. Ignored signals stay ignored, and so do
// stray ones (core/signals.hpp): their handler only records, and a child must
// not die of a stray signal before it installs its own.
void reset_signal_handlers() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN || old.sa_handler == SIG_DFL || is_stray_signal_handler(old.sa_handler)) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
  }
}

// Runs after_parent for hooks[first..] in registration order. Exceptions are
// reported and swallowed: every remaining hook must still release its locks,
// and the caller needs the child's pid either way.
void run_after_parent(const std::vector<ForkHook>& hooks, std::size_t first) noexcept {
  for (std::size_t i = first; i < hooks.size(); ++i) {
    if (!hooks[i].after_parent) continue;
    try {
      hooks[i].after_parent();
    } catch (...) {
      raw_stderr({"suzerain: after-fork (parent) hook of ", hooks[i].owner, " failed: ",
                  what_of(std::current_exception())});
    }
  }
}

[[noreturn]] void run_child(const std::vector<ForkHook>& hooks,
                            const std::function<ExitCode()>& child_main,
                            const sigset_t& parent_mask) noexcept {
  reset_signal_handlers();
  for (const ForkHook& hook : hooks) {
    if (!hook.after_child) continue;
    try {
      hook.after_child();
    } catch (...) {
      raw_stderr({"suzerain: after-fork (child) hook of ", hook.owner, " failed: ",
                  what_of(std::current_exception())});
      _exit(to_int(ExitCode::kForkHookFailed));
    }
  }
  pthread_sigmask(SIG_SETMASK, &parent_mask, nullptr);
  int code = to_int(ExitCode::kChildUncaught);
  try {
    code = to_int(child_main());
  } catch (...) {
    raw_stderr({"suzerain: forked child: uncaught exception: ", what_of(std::current_exception())});
  }
  _exit(code);
}

}  // namespace

pid_t fork_process(const ForkHooks& registry, const std::function<ExitCode()>& child_main) {
  const std::vector<ForkHook>& hooks = registry.hooks();

  sigset_t all, parent_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &parent_mask);

  // Before hooks, last registered first. If one throws, the hooks already
  // prepared (those registered after it) are resumed and the fork abandoned.
  for (std::size_t i = hooks.size(); i-- > 0;) {
    if (!hooks[i].before) continue;
    try {
      hooks[i].before();
    } catch (...) {
      run_after_parent(hooks, i + 1);
      pthread_sigmask(SIG_SETMASK, &parent_mask, nullptr);
      throw ForkError("before-fork hook of " + hooks[i].owner + " failed: " +
                      std::string(what_of(std::current_exception())));
    }
  }

  pid_t pid = fork();
  if (pid == 0) run_child(hooks, child_main, parent_mask);

  int fork_errno = errno;
  run_after_parent(hooks, 0);
  pthread_sigmask(SIG_SETMASK, &parent_mask, nullptr);
  if (pid < 0)
    throw ForkError(std::string("fork failed: ") + std::system_category().message(fork_errno));
  return pid;
}

}  // namespace suz
