#pragma once
// What a child forked by the master runs: a worker or a spooler, built from
// what the master hands it here and nothing else, so a child never reads or
// changes the master's own state (its copy of it is never passed).
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "vassal/app.hpp"
#include "vassal/children.hpp"
#include "vassal/listener.hpp"
#include "vassal/scoreboard.hpp"

namespace suz {

class AccessLog;

struct ChildContext {
  const VassalConfig& config;
  AppPlugin& plugin;
  Scoreboard& scoreboard;
  int record;     // its scoreboard record
  int notify_fd;  // the workers -> master pipe (WorkerMessage)
  int slot_id;
  std::string spool_owner;  // a spooler's claim area
  AccessLog* access_log = nullptr;  // a worker's request log ([log] access)
};

// The child's whole life: a worker serves the listeners; a spooler closes
// them (it serves no socket) and runs jobs.
ExitCode run_child(Role role, const ChildContext& child, std::vector<Listener>& listeners);

}  // namespace suz
