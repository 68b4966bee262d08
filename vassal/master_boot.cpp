#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <system_error>
#include <thread>

#include "core/credentials.hpp"
#include "core/socket.hpp"
#include "vassal/master.hpp"

// The master's boot steps, in the order Master::run() takes them.

namespace suz {

namespace {

// A standalone master restarted right after a crash (kill -9) finds its old
// workers still holding the port for a moment: they die with it (PDEATHSIG),
// but not at once. Bounded: another program may hold the port for good.
constexpr auto kBindRetryFor = std::chrono::seconds(2);
constexpr auto kBindRetryEvery = std::chrono::milliseconds(20);

Fd listen_retrying(const ListenAddress& a, int backlog) {
  auto until = std::chrono::steady_clock::now() + kBindRetryFor;
  for (bool said = false;; said = true) {
    try {
      return listen_on(a, backlog);
    } catch (const std::system_error& e) {
      if (e.code().value() != EADDRINUSE || std::chrono::steady_clock::now() >= until) throw;
      if (!said) spdlog::warn("{}; retrying for up to {}", e.what(), format_duration(kBindRetryFor));
    }
    std::this_thread::sleep_for(kBindRetryEvery);
  }
}

}  // namespace

bool Master::take_inherited_sockets() {
  try {
    inherited_ = InheritedSockets::take_from_environment();
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return false;
  }
}

bool Master::bind_listeners() {
  auto bind_all = [&](const std::vector<ListenAddress>& addresses, Protocol protocol) {
    const char* kind = protocol == Protocol::kHttp ? "http" : "uwsgi";
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      const ListenAddress& a = addresses[i];
      // Passed by the emperor (the same socket every generation of this
      // vassal had), or bound here.
      std::optional<Fd> passed = inherited_.take(socket_name(kind, i));
      Fd fd = passed ? std::move(*passed) : listen_retrying(a, config_.server.backlog);
      fd.set_nonblocking(true);
      if (a.kind == ListenAddress::Kind::kTcp) {
        // Accepted sockets inherit TCP_NODELAY from the listener: one syscall
        // per connection saved. TCP_DEFER_ACCEPT wakes a worker only once the
        // request's first bytes are in, instead of on the bare handshake.
        // Quick-ACK off (inherited too): a new connection's request is not
        // acknowledged on its own, the response carries the ACK. Bulk bodies
        // are still acknowledged every second segment.
        int one = 1, zero = 0, defer_seconds = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
      }
      ListenAddress bound = a.kind == ListenAddress::Kind::kTcp ? local_address(fd) : a;
      spdlog::info("listening on {} ({}{})", bound.str(), kind, passed ? ", passed by the emperor" : "");
      listeners_.push_back(Listener{bound, protocol, std::move(fd)});
    }
  };
  try {
    bind_all(config_.server.http, Protocol::kHttp);
    bind_all(config_.server.uwsgi, Protocol::kUwsgi);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return false;
  }
  return true;
}

bool Master::start_stats() {
  if (!config_.stats.listen) return true;
  try {
    stats_ = std::make_unique<StatsServer>(EV_DEFAULT, *config_.stats.listen, inherited_.take(socket_name("stats", 0)),
                                           [this] { return snapshot(); });
    spdlog::info("stats on {} (JSON at /, Prometheus at /metrics)", stats_->address().str());
    if (!stats_->address().is_local())
      spdlog::warn("stats on {} can be reached from other hosts, and show every request in flight: "
                   "prefer a unix socket or 127.0.0.1 (or a firewall)",
                   stats_->address().str());
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("stats: {}", e.what());
    return false;
  }
}

bool Master::become_configured_user() {
  auto who = resolve_credentials(config_.vassal.uid, config_.vassal.gid);
  if (!who) {
    spdlog::critical("{}", who.error());
    return false;
  }
  if (!*who) return true;
  if (auto why = cannot_become(**who)) {
    spdlog::critical("[vassal] uid/gid: {}", *why);
    return false;
  }
  try {
    if (::geteuid() == 0) {
      become(**who);
      spdlog::info("running as {}", (*who)->label);
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot become {}: {}", (*who)->label, e.what());
    return false;
  }
  return true;
}

bool Master::open_access_log() {
  if (config_.access_log.empty() || listeners_.empty()) return true;
  auto log = AccessLog::open(config_.access_log, config_.access_format);
  if (!log) {
    spdlog::critical("[log] access: {}", log.error());
    return false;
  }
  access_log_ = std::move(*log);
  return true;
}

ExitCode Master::load_app() {
  try {
    plugin_.load_in_master();
  } catch (const AppLoadError& e) {
    spdlog::critical("cannot load the app: {}", e.what());
    return ExitCode::kAppLoadError;
  }
  plugin_.register_fork_hooks(hooks_);
  return ExitCode::kOk;
}

bool Master::open_spool() {
  if (config_.spooler.processes == 0 || config_.spooler.dir.empty()) return true;
  try {
    spool_ = std::make_unique<SpoolUpkeep>(config_.spooler);
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("[spooler] dir: {}", e.what());
    return false;
  }
}

}  // namespace suz
