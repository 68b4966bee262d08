#include "vassal/child_main.hpp"

#include <memory>
#include <optional>

#include "vassal/harakiri_notice.hpp"
#include "vassal/jitter.hpp"
#include "vassal/spooler.hpp"
#include "vassal/worker.hpp"

namespace suz {

namespace {

ExitCode run_worker(const ChildContext& child, const std::vector<Listener>& listeners) {
  const VassalConfig& config = child.config;
  WorkerOptions options;
  options.id = child.slot_id;
  options.threads = config.server.threads;
  options.graceful_timeout = config.lifetime.graceful_timeout;
  options.max_connections = config.server.max_connections;
  options.rules.http.max_header_size = config.server.max_header_size;
  options.rules.http.max_body_size = config.server.max_body_size;
  options.rules.header_timeout = config.server.header_timeout;
  options.rules.keepalive_timeout = config.server.keepalive_timeout;
  options.rules.io_timeout = config.server.io_timeout;
  options.rules.buffer_body = config.server.buffer_body;
  options.rules.buffer_response = config.server.buffer_response;
  options.rules.proxies = {config.server.forwarded_allow_ips, config.server.forwarded_host, config.server.uwsgi_allow_ips};
  if (config.lifetime.max_requests) options.max_requests = jittered(config.lifetime.max_requests);
  options.scoreboard = &child.scoreboard;
  options.record = child.record;
  options.notify_fd = child.notify_fd;
  options.access_log = child.access_log;
  options.asgi = child.config.app.interface == AppInterface::kAsgi;
  auto worker = std::make_unique<Worker>(child.plugin, listeners, options);
  ExitCode code = worker->run();
  // Threads stuck in a request still use the worker until this process exits
  // (right after this returns): left alive, not freed under them.
  if (worker->threads_still_running()) static_cast<void>(worker.release());
  return code;
}

ExitCode run_spooler(const ChildContext& child, std::vector<Listener>& listeners) {
  // A spooler serves no socket: the listeners close, so a connection never
  // waits in a backlog no one accepts from on its behalf.
  listeners.clear();
  const SpoolerConfig& config = child.config.spooler;
  SpoolerOptions options;
  options.id = child.slot_id;
  options.where = config.dir;
  options.visibility_timeout = config.visibility_timeout;
  options.owner = child.spool_owner;
  options.siblings = config.processes;
  options.max_attempts = config.max_attempts;
  options.retry_delay = config.retry_delay;
  if (config.max_jobs) options.max_jobs = jittered(config.max_jobs);
  options.scoreboard = &child.scoreboard;
  options.record = child.record;
  options.notify_fd = child.notify_fd;
  Spooler spooler(child.plugin, options);
  return spooler.run();
}

}  // namespace

ExitCode run_child(Role role, const ChildContext& child, std::vector<Listener>& listeners) {
  Duration harakiri = role == Role::kWorker ? child.config.lifetime.harakiri : child.config.spooler.harakiri;
  std::optional<HarakiriNotice> notice;
  if (harakiri.count() > 0 && child.plugin.hooked(Hook::kHarakiri))
    notice.emplace(child.scoreboard, child.record, harakiri,
                   [&plugin = child.plugin](const StuckRequest& stuck) { plugin.run_harakiri_hook(stuck); });
  switch (role) {
    case Role::kWorker: return run_worker(child, listeners);
    case Role::kSpooler: return run_spooler(child, listeners);
  }
  return ExitCode::kFailure;
}

}  // namespace suz
