#pragma once
// What a Vassal does to the world: start a master (core/master_launch.hpp),
// signal one. The real ones by default; unit tests give their own
// (tests/unit/emperor_vassal_test.cpp).
#include <signal.h>
#include <sys/types.h>

#include <functional>

#include "core/master_launch.hpp"

namespace suz {

struct MasterLauncher {
  std::function<Launched(const LaunchSpec&)> launch = launch_master;
  std::function<void(pid_t, int)> signal = [](pid_t pid, int sig) { ::kill(pid, sig); };
};

}  // namespace suz
