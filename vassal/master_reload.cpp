// A master's HUP: the app loaded again, by a new master (vassal/successor.hpp).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/emperor_channel.hpp"
#include "core/log.hpp"
#include "core/successor_channel.hpp"
#include "vassal/master.hpp"

namespace suz {

void Master::reload() {
  if (emperor_) {
    // The emperor owns the sockets and the generations: it does the same.
    spdlog::info("reload: asking the emperor to load {} again", escaped(config_.file.string()));
    emperor_->send(emperor_channel::kReloadMe);
    return;
  }
  if (handed_over_ || children_->stopping()) return;
  if (successor_) {
    reload_queued_ = true;
    spdlog::info("reload: one is under way (new master pid {}); another follows it", successor_->pid());
    return;
  }
  try {
    successor_ = std::make_unique<Successor>(
        EV_DEFAULT, successor_spec(), config_.lifetime.ready_timeout,
        Successor::Outcome{[this] { successor_serving(); }, [this](const std::string& why) { successor_failed(why); }});
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; this master serves on", e.what());
    return;
  }
  spdlog::info("reload: new master pid {} loads {}; this one serves until it does", successor_->pid(),
               escaped(config_.file.string()));
  say(emperor_channel::kReloading);
}

LaunchSpec Master::successor_spec() const {
  LaunchSpec spec;
  spec.program = origin_.program;
  spec.file = config_.file;
  spec.channel_variable = successor_channel::kFdVariable;
  spec.base_environment = origin_.environment;
  spec.dies_with_parent = false;  // it outlives this master
  spec.keeps_notify_socket = true;
  std::size_t http = 0, uwsgi = 0;
  for (const Listener& l : listeners_) {
    bool is_http = l.protocol == Protocol::kHttp;
    spec.sockets.emplace_back(socket_name(is_http ? "http" : "uwsgi", is_http ? http++ : uwsgi++), l.fd.get());
  }
  if (stats_) spec.sockets.emplace_back(socket_name("stats", 0), stats_->listen_fd());
  return spec;
}

void Master::successor_serving() {
  spdlog::info("reload: new master pid {} serves; this master stops accepting and drains", successor_->pid());
  handed_over_ = true;
  if (stats_) stats_->hand_over();
  if (reload_queued_) {  // for the new code, then
    reload_queued_ = false;
    ::kill(successor_->pid(), SIGHUP);
  }
  carry_out(children_->stop(true));
}

void Master::successor_failed(const std::string& why) {
  spdlog::error("reload: the new master (pid {}) {}; this master serves the previous code and config on",
                successor_->pid(), why);
  say(emperor_channel::kReady);  // serving as before: not a new "every worker serves"
}

void Master::successor_exited(int status) {
  successor_->exited(status);
  if (handed_over_) {
    // It took over, and is a child of this master only until this one exits.
    spdlog::warn("reload: the new master (pid {}) {} while this one drains", successor_->pid(),
                 describe_wait_status(status));
    successor_.reset();
    return;
  }
  successor_.reset();
  if (reload_queued_) {
    reload_queued_ = false;
    reload();
  }
}

}  // namespace suz
