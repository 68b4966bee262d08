#include "core/signals.hpp"
#include "vassal/spooler.hpp"

#include <ev++.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fd.hpp"
#include "core/log.hpp"
#include "spooler/job_queue.hpp"
#include "vassal/worker_events.hpp"

namespace suz {

Duration retry_backoff(Duration retry_delay, int attempt) {
  constexpr Duration kMax = std::chrono::hours(1);
  double factor = std::pow(2.0, std::clamp(attempt - 1, 0, 30));
  double ms = std::min(static_cast<double>(retry_delay.count()) * factor, static_cast<double>(kMax.count()));
  return Duration(static_cast<Duration::rep>(ms));
}

struct Spooler::State {
  explicit State(struct ev_loop* loop) : signals(loop), arrivals(loop), working(loop), due(loop), heartbeat(loop) {}
  std::unique_ptr<JobConsumer> jobs;
  Fd signal_fd;
  ev::io signals;
  ev::io arrivals;
  ev::idle working;
  ev::timer due;
  ev::timer heartbeat;
};

Spooler::Spooler(AppPlugin& plugin, SpoolerOptions options) : plugin_(plugin), options_(std::move(options)) {}

Spooler::~Spooler() {
  s_.reset();
  if (loop_) ev_loop_destroy(loop_);
}

ExitCode Spooler::run() {
  // TERM and friends through a signalfd read by the loop, blocked before any
  // app thread can start; INT and QUIT keep their default action: a quick
  // stop ends even a job that never returns.
  // Every other signal is stray (core/signals.hpp), or USR2's stack dump.
  catch_stray_signals(kChildSignals);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, kReopenLogsSignal}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t quick;
  sigemptyset(&quick);
  for (int sig : {SIGINT, SIGQUIT}) {
    ::signal(sig, SIG_DFL);
    sigaddset(&quick, sig);
  }
  pthread_sigmask(SIG_UNBLOCK, &quick, nullptr);

  plugin_.start_spooler(options_.id);
  loop_ = ev_loop_new(EVBACKEND_EPOLL);
  s_ = std::make_unique<State>(loop_);
  ConsumerOptions consumer;
  consumer.owner = options_.owner;
  consumer.siblings = options_.siblings;
  consumer.visibility_timeout = options_.visibility_timeout;
  consumer.on_corrupt = [](const std::string& where, const std::string& why) {
    spdlog::error("{}: {}; moved aside", where, why);
  };
  s_->jobs = open_consumer(options_.where, consumer);
  s_->signal_fd = Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));

  s_->signals.set<Spooler, &Spooler::on_signals>(this);
  s_->arrivals.set<Spooler, &Spooler::on_arrivals>(this);
  s_->working.set<Spooler, &Spooler::work>(this);
  s_->due.set<Spooler, &Spooler::on_due>(this);
  s_->heartbeat.set<Spooler, &Spooler::heartbeat>(this);
  s_->signals.start(s_->signal_fd.get(), ev::READ);
  watch_arrivals();
  s_->heartbeat.start(1., 1.);
  s_->working.start();  // what the first scan found

  spdlog::info("running jobs from {} ({} waiting)", options_.where, s_->jobs->waiting());
  if (options_.scoreboard) report_ready(*options_.scoreboard, options_.record, options_.notify_fd);
  ev_run(loop_, 0);
  checkpoint();
  plugin_.run_hook(Hook::kWorkerExit);  // the loop ends only gracefully (INT and QUIT kill)
  return exit_code_;
}

void Spooler::on_signals() {
  signalfd_siginfo info;
  while (::read(s_->signal_fd.get(), &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGTERM) {
      // Jobs run inside this loop's callbacks: none is in hand now.
      spdlog::info("stopping");
      ev_break(loop_, EVBREAK_ALL);
    } else if (info.ssi_signo == kReopenLogsSignal) {
      reopen_log();
    }
  }
}

void Spooler::on_arrivals() {
  s_->jobs->on_wake();
  watch_arrivals();
  s_->working.start();
}

void Spooler::on_due() { s_->working.start(); }

void Spooler::heartbeat() {
  if (options_.scoreboard) options_.scoreboard->process(options_.record).heartbeat_ms = monotonic_ms();
  checkpoint();
  log_stray_signals();
}

void Spooler::checkpoint() {
  try {
    s_->jobs->checkpoint();
  } catch (const std::exception& e) {
    // Costs nothing now; after a crash, finished jobs may run again.
    spdlog::warn("spool checkpoint: {}", e.what());
  }
}

void Spooler::work() {
  // Short jobs a few at a time per turn of the loop (an epoll_wait fewer per
  // job); a TERM or a higher-priority arrival waits for at most 8 jobs or
  // 5 ms of them, whichever comes first, after the one in hand.
  constexpr int kJobsPerTurn = 8;
  constexpr std::int64_t kTurnMs = 5;
  const std::int64_t turn_ends = monotonic_ms() + kTurnMs;
  for (int i = 0; i < kJobsPerTurn && exit_code_ == ExitCode::kOk && (i == 0 || monotonic_ms() < turn_ends); ++i) {
    if (at_job_limit()) {
      // max_jobs is a promise: the rest wait in the queue (for a few
      // milliseconds) until the successor the master is starting takes them.
      s_->working.stop();
      s_->due.stop();
      s_->arrivals.stop();
      return;
    }
    std::optional<std::int64_t> wake_at;
    std::optional<ClaimedJob> claimed;
    try {
      claimed = s_->jobs->claim(wall_clock_ms(), &wake_at);
    } catch (const std::exception& e) {
      spdlog::error("cannot claim a job: {}", e.what());
      wake_at = wall_clock_ms() + 1000;
    }
    watch_arrivals();
    if (!claimed) {
      sleep_until(wake_at);
      return;
    }
    run_one(*claimed);
  }
}

void Spooler::sleep_until(std::optional<std::int64_t> wake_at) {
  s_->working.stop();
  s_->due.stop();
  if (!wake_at) return;  // nothing waiting: only an arrival wakes us
  s_->due.start(std::max(0.0, static_cast<double>(*wake_at - wall_clock_ms()) / 1000) + 0.001, 0.);
}

bool Spooler::at_job_limit() const { return options_.max_jobs && jobs_ >= options_.max_jobs; }

void Spooler::watch_arrivals() {
  // A backend that reconnected has a new descriptor to watch.
  int fd = s_->jobs->wake_fd();
  if (s_->arrivals.is_active() && s_->arrivals.fd == fd) return;
  s_->arrivals.stop();
  if (fd >= 0) s_->arrivals.start(fd, ev::READ);
}

void Spooler::run_one(ClaimedJob& claimed) {
  const JobName& name = claimed.job.name;
  ProcessRecord* record = options_.scoreboard ? &options_.scoreboard->process(options_.record) : nullptr;
  ThreadRecord* slot = record ? &options_.scoreboard->thread(options_.record, 0) : nullptr;
  if (slot) slot->begin("job " + name.id + " (attempt " + std::to_string(name.attempt + 1) + ")");  // harakiri, stats
  JobOutcome outcome = plugin_.run_job(claimed.job);
  if (slot) slot->end();
  try {
    if (outcome.done) {
      s_->jobs->done(claimed);
    } else if (name.attempt + 1 >= options_.max_attempts) {
      spdlog::error("job {} failed on attempt {} of {}; moved to failed/:\n{}", name.id, name.attempt + 1,
                    options_.max_attempts, outcome.error);
      s_->jobs->fail(claimed, outcome.error);
    } else {
      Duration delay = outcome.retry_after.value_or(retry_backoff(options_.retry_delay, name.attempt + 1));
      spdlog::warn("job {} failed on attempt {} of {}; retrying in {}:\n{}", name.id, name.attempt + 1,
                   options_.max_attempts, format_duration(delay), outcome.error);
      s_->jobs->retry(claimed, wall_clock_ms() + delay.count(), outcome.error);
    }
  } catch (const std::exception& e) {
    // The job stays in the claim area; the master returns it to the queue
    // when this process is gone. Going now is the way to get there.
    spdlog::error("job {}: {}; leaving it to be recovered", name.id, e.what());
    exit_code_ = ExitCode::kFailure;
    ev_break(loop_, EVBREAK_ALL);
    return;
  }
  ++jobs_;
  if (record) record->requests.fetch_add(1, std::memory_order_relaxed);
  if (options_.max_jobs && jobs_ == options_.max_jobs) notify_master(options_.notify_fd, WorkerEvent::kRequestLimit);
}

}  // namespace suz
