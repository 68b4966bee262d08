#pragma once
// What each kind of Suzerain process does with each signal an operator can
// send: the one home of that contract, included by the emperor, the master,
// workers, spoolers and the tests.
//
//   signal  emperor               master                     worker / spooler
//   TERM    graceful stop (all)   graceful stop              finish requests / the job, exit
//   INT     quick stop            quick stop                 quick stop
//   QUIT    quick stop            quick stop                 quick stop
//   HUP     reload every vassal   reload: new code, config   -
//   USR1    forward to masters    reopen logs, forward       reopen logs
//   USR2    -                     replace every worker       dump every Python thread's stack
//   TTIN    -                     one worker more            -
//   TTOU    -                     one worker less            -
//   RTMIN+1 -                     -                          harakiri notice from the master: run
//                                                            @suzerain.harakiri, then die
//
// Every other signal an operator can send ("-" above, and ALRM, WINCH, PWR,
// VTALRM, PROF, XCPU, XFSZ, IO, URG, STKFLT, TSTP, the other real-time ones) is
// stray: ignored and logged once at info, never its default action. PIPE is
// ignored without a word (SIG_IGN): a client gone mid-write is routine, and
// the write's EPIPE says it. One
// logrotate script sending USR1 to the wrong pid must not stop every app on
// the host. Fault signals (SEGV, BUS, FPE, ILL, TRAP, SYS, ABRT) keep their
// default action: a crash stays a crash, with its core. KILL and STOP cannot
// be caught; CHLD and CONT keep their meaning.
//
// Stray signals are caught by a handler that only records them (not
// SIG_IGN, which exec would pass on to the app's own subprocesses), kept by
// the fork layer in children until they install their own.
//
// A master's HUP loads the app again: standalone, it starts a new master of
// itself that takes over once serving (vassal/successor.hpp); under an
// emperor it asks the emperor, which does the same. USR2 replaces the
// workers one at a time from the running master: the same code, forked
// again (uWSGI's chain reload).
#include <signal.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace suz {

inline constexpr int kReopenLogsSignal = SIGUSR1;
inline constexpr int kStackDumpSignal = SIGUSR2;    // faulthandler, in workers and spoolers
inline constexpr int kReplaceWorkersSignal = SIGUSR2;  // in a master

// Harakiri, for an app with @suzerain.harakiri hooks: the master sends the
// stack dump signal and this one, and kills the child kHarakiriHookBound (and
// the dump's grace) later. The child runs the hooks, given its request past
// the limit, for at most that long, then kills itself (vassal/
// harakiri_notice.hpp): the kill comes either way. A notice while no request
// is past the limit is stray. SIGRTMIN is glibc's, not a constant.
inline int harakiri_signal() { return SIGRTMIN + 1; }
inline constexpr double kHarakiriHookBound = 2.0;  // seconds

// The signals with a meaning, by kind of process (the table above).
inline constexpr std::initializer_list<int> kEmperorSignals = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
inline constexpr std::initializer_list<int> kMasterSignals = {SIGTERM, SIGINT, SIGQUIT, SIGHUP,
                                                              SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU};
inline constexpr std::initializer_list<int> kChildSignals = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2};

// Every signal an operator can send that is not a fault signal: the
// candidates for being stray.
std::vector<int> operator_signals();

// Installs the recording handler for every operator signal not in meaningful.
// Forgets what an earlier call (the parent's, before a fork) recorded.
void catch_stray_signals(std::initializer_list<int> meaningful);

// Records sig as stray: for a signal read from a signalfd that has no meaning.
void note_stray_signal(int sig) noexcept;

// Logs, at info, each stray signal recorded since the last call, the first
// time it arrives in this process. Call from a periodic timer of the loop.
void log_stray_signals();

// True if handler is the recording one: the fork layer keeps it in a child.
bool is_stray_signal_handler(void (*handler)(int)) noexcept;

// "SIGUSR2", "SIGRTMIN+3".
std::string signal_name(int sig);

}  // namespace suz
