#include "core/signals.hpp"

#include <spdlog/spdlog.h>
#include <string.h>

#include <algorithm>
#include <atomic>

namespace suz {
namespace {

// Written by the handler (any thread, async-signal-safe), read by the loop.
std::atomic<bool> g_arrived[NSIG];
// The loop's own: which strays this process has logged already.
bool g_logged[NSIG];

void record(int sig) {
  if (sig > 0 && sig < NSIG) g_arrived[sig].store(true, std::memory_order_relaxed);
}

}  // namespace

std::vector<int> operator_signals() {
  std::vector<int> out = {SIGHUP,  SIGINT,  SIGQUIT,   SIGUSR1, SIGUSR2,   SIGPIPE,  SIGALRM, SIGTERM,
                          SIGSTKFLT, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,  SIGXCPU,  SIGXFSZ,  SIGVTALRM,
                          SIGPROF, SIGWINCH, SIGIO, SIGPWR};
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) out.push_back(sig);
  return out;
}

void catch_stray_signals(std::initializer_list<int> meaningful) {
  for (int sig = 0; sig < NSIG; ++sig) {
    g_arrived[sig].store(false, std::memory_order_relaxed);
    g_logged[sig] = false;
  }
  struct sigaction sa {};
  sa.sa_handler = record;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : operator_signals())
    if (std::find(meaningful.begin(), meaningful.end(), sig) == meaningful.end()) sigaction(sig, &sa, nullptr);
}

void note_stray_signal(int sig) noexcept { record(sig); }

void log_stray_signals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (!g_arrived[sig].exchange(false, std::memory_order_relaxed) || g_logged[sig]) continue;
    g_logged[sig] = true;
    spdlog::info("{} has no meaning for this process: ignored (logged once)", signal_name(sig));
  }
}

bool is_stray_signal_handler(void (*handler)(int)) noexcept { return handler == record; }

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace suz
