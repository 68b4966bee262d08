// The fork layer against real forks: hook order, exits, exceptions, signals.
#include "core/fork.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.hpp"
#include "tests/support/process.hpp"

namespace suz {
namespace {

using test::read_for;
using test::wait_exit;
using namespace std::chrono_literals;

// Records hook calls: in the parent into a vector, in the child into a pipe
// the parent reads after the child exits.
struct Recorder {
  std::vector<std::string> parent;
  Pipe child = make_pipe();

  void in_child(const std::string& event) {
    std::string line = event + ";";
    write_all(child.write.get(), line.data(), line.size());
  }
  std::string child_events(pid_t pid) {
    EXPECT_TRUE(wait_exit(pid, 10s).has_value());
    child.write.reset();
    return read_for(child.read.get(), 4096, 10s);
  }
  ForkHook hook(const std::string& name) {
    return ForkHook{
        .owner = name,
        .before = [this, name] { parent.push_back("before " + name); },
        .after_parent = [this, name] { parent.push_back("parent " + name); },
        .after_child = [this, name] { in_child("child " + name); },
    };
  }
};

int exit_status(pid_t pid) {
  auto status = wait_exit(pid, 10s);
  EXPECT_TRUE(status.has_value()) << "child did not exit in time";
  return status.value_or(-1);
}

TEST(Fork, before_hooks_run_in_reverse_registration_order_and_after_parent_hooks_in_order) {
  Recorder r;
  ForkHooks hooks;
  hooks.add(r.hook("a"));
  hooks.add(r.hook("b"));
  hooks.add(r.hook("c"));
  pid_t pid = fork_process(hooks, [] { return ExitCode::kOk; });
  EXPECT_EQ(r.parent, (std::vector<std::string>{"before c", "before b", "before a", "parent a",
                                                "parent b", "parent c"}));
  EXPECT_EQ(r.child_events(pid), "child a;child b;child c;");
}

TEST(Fork, child_hooks_run_in_registration_order_before_child_main) {
  Recorder r;
  ForkHooks hooks;
  hooks.add(r.hook("first"));
  hooks.add(r.hook("second"));
  pid_t pid = fork_process(hooks, [&] {
    r.in_child("main");
    return ExitCode::kOk;
  });
  EXPECT_EQ(r.child_events(pid), "child first;child second;main;");
}

TEST(Fork, hooks_from_two_subsystems_nest_like_pthread_atfork) {
  // Logging registers first (it is initialised first); Python registers after
  // it and logs from its hooks, so it must be quiesced first and resumed last.
  Recorder r;
  ForkHooks hooks;
  std::mutex log_lock;
  bool log_locked = false;
  hooks.add(ForkHook{
      .owner = "logging",
      .before = [&] { log_lock.lock(); log_locked = true; r.parent.push_back("logging locked"); },
      .after_parent = [&] { log_locked = false; log_lock.unlock(); r.parent.push_back("logging unlocked"); },
      .after_child = [&] { log_locked = false; log_lock.unlock(); r.in_child("logging unlocked"); },
  });
  hooks.add(ForkHook{
      .owner = "python",
      .before = [&] { r.parent.push_back(log_locked ? "python prepared AFTER log lock" : "python prepared"); },
      .after_parent = [&] { r.parent.push_back(log_locked ? "python resumed WHILE log locked" : "python resumed"); },
      .after_child = [&] { r.in_child(log_locked ? "python child WHILE log locked" : "python child"); },
  });
  pid_t pid = fork_process(hooks, [&] {
    std::lock_guard<std::mutex> g(log_lock);  // would hang if the child inherited it locked
    r.in_child("logged");
    return ExitCode::kOk;
  });
  EXPECT_EQ(r.parent, (std::vector<std::string>{"python prepared", "logging locked", "logging unlocked",
                                                "python resumed"}));
  EXPECT_EQ(r.child_events(pid), "logging unlocked;python child;logged;");
}

TEST(Fork, child_exit_code_is_what_child_main_returns) {
  ForkHooks hooks;
  int status = exit_status(fork_process(hooks, [] { return ExitCode::kAppLoadError; }));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), to_int(ExitCode::kAppLoadError));
}

TEST(Fork, exception_in_child_main_becomes_exit_code_and_message) {
  ForkHooks hooks;
  Pipe err = make_pipe();
  pid_t pid = fork_process(hooks, [&]() -> ExitCode {
    ::dup2(err.write.get(), STDERR_FILENO);
    throw std::runtime_error("boom in the child");
  });
  int status = exit_status(pid);
  err.write.reset();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), to_int(ExitCode::kChildUncaught));
  EXPECT_NE(read_for(err.read.get(), 4096, 5s).find("uncaught exception: boom in the child"), std::string::npos);
}

TEST(Fork, non_standard_exception_in_child_main_is_caught_too) {
  ForkHooks hooks;
  int status = exit_status(fork_process(hooks, []() -> ExitCode { throw 42; }));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), to_int(ExitCode::kChildUncaught));
}

TEST(Fork, child_leaves_by_exit_without_running_atexit_handlers) {
  // A child that returned into the caller's stack, or called exit(), would run
  // the parent's atexit handlers and static destructors a second time.
  static Pipe* witness = nullptr;
  Pipe pipe = make_pipe();
  witness = &pipe;
  static bool registered = false;
  if (!registered) {
    std::atexit([] { if (witness) write_all(witness->write.get(), "atexit", 6); });
    registered = true;
  }
  ForkHooks hooks;
  int status = exit_status(fork_process(hooks, [] { return ExitCode::kOk; }));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  pipe.write.reset();
  EXPECT_EQ(read_for(pipe.read.get(), 64, 1s), "");
  witness = nullptr;
}

TEST(Fork, before_hook_that_throws_abandons_the_fork_and_resumes_prepared_hooks) {
  Recorder r;
  ForkHooks hooks;
  hooks.add(r.hook("a"));
  hooks.add(ForkHook{.owner = "failing", .before = [] { throw std::runtime_error("no GIL for you"); }});
  hooks.add(r.hook("c"));
  bool child_ran = false;
  try {
    fork_process(hooks, [&] { child_ran = true; return ExitCode::kOk; });
    FAIL() << "expected ForkError";
  } catch (const ForkError& e) {
    EXPECT_NE(std::string(e.what()).find("failing"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no GIL for you"), std::string::npos);
  }
  // c was prepared and is resumed; a was never prepared, so it is not resumed.
  EXPECT_EQ(r.parent, (std::vector<std::string>{"before c", "parent c"}));
  int status;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "no child may exist";
  EXPECT_EQ(errno, ECHILD);
}

TEST(Fork, after_child_hook_that_throws_exits_without_running_child_main) {
  Recorder r;
  ForkHooks hooks;
  hooks.add(ForkHook{.owner = "broken", .after_child = [] { throw std::runtime_error("bad state"); }});
  hooks.add(r.hook("later"));
  pid_t pid = fork_process(hooks, [&] { r.in_child("main"); return ExitCode::kOk; });
  int status = exit_status(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), to_int(ExitCode::kForkHookFailed));
  r.child.write.reset();
  EXPECT_EQ(read_for(r.child.read.get(), 4096, 1s), "");
}

TEST(Fork, after_parent_hook_that_throws_still_runs_the_others_and_returns_the_pid) {
  Recorder r;
  ForkHooks hooks;
  hooks.add(ForkHook{.owner = "broken", .after_parent = [] { throw std::runtime_error("oops"); }});
  hooks.add(r.hook("later"));
  pid_t pid = fork_process(hooks, [] { return ExitCode::kBootError; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(r.parent, (std::vector<std::string>{"before later", "parent later"}));
  int status = exit_status(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == to_int(ExitCode::kBootError));
}

volatile sig_atomic_t parent_handler_ran = 0;

TEST(Fork, parent_signal_handlers_are_reset_in_the_child) {
  struct sigaction sa {};
  sa.sa_handler = [](int) { parent_handler_ran = 1; };
  sigemptyset(&sa.sa_mask);
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  ForkHooks hooks;
  pid_t pid = fork_process(hooks, [] {
    ::raise(SIGUSR1);  // default action: terminate
    return ExitCode::kOk;
  });
  int status = exit_status(pid);
  sigaction(SIGUSR1, &old, nullptr);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the parent's handler ran in the child";
  EXPECT_EQ(WTERMSIG(status), SIGUSR1);
}

TEST(Fork, signals_are_blocked_during_child_hooks_and_restored_for_child_main) {
  Recorder r;
  ForkHooks hooks;
  auto term_blocked = [] {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return sigismember(&now, SIGTERM) == 1;
  };
  hooks.add(ForkHook{.owner = "probe", .after_child = [&] {
                       r.in_child(term_blocked() ? "hook:blocked" : "hook:open");
                     }});
  pid_t pid = fork_process(hooks, [&] {
    r.in_child(term_blocked() ? "main:blocked" : "main:open");
    return ExitCode::kOk;
  });
  EXPECT_EQ(r.child_events(pid), "hook:blocked;main:open;");
  EXPECT_FALSE(term_blocked()) << "the parent's mask must be restored too";
}

TEST(Fork, child_can_take_a_lock_that_another_parent_thread_holds_constantly) {
  // The reason the layer exists: a thread that holds a lock at the moment of
  // fork does not exist in the child. A hook that holds the lock across
  // fork(2) makes the child's copy free.
  std::mutex lock;
  std::atomic<bool> stop{false};
  std::thread hog([&] {
    while (!stop) {
      std::lock_guard<std::mutex> g(lock);
      std::this_thread::yield();
    }
  });
  ForkHooks hooks;
  hooks.add(ForkHook{.owner = "lock",
                     .before = [&] { lock.lock(); },
                     .after_parent = [&] { lock.unlock(); },
                     .after_child = [&] { lock.unlock(); }});
  for (int i = 0; i < 100; ++i) {
    pid_t pid = fork_process(hooks, [&] {
      std::lock_guard<std::mutex> g(lock);
      return ExitCode::kOk;
    });
    auto status = wait_exit(pid, 5s);
    ASSERT_TRUE(status.has_value()) << "child " << i << " hung on the lock";
    EXPECT_EQ(WEXITSTATUS(*status), 0);
  }
  stop = true;
  hog.join();
}

}  // namespace
}  // namespace suz
