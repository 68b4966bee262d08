#pragma once
// Starts one vassal master: fork+exec of `vassal FILE` through Boost.Process,
// with its listening sockets (passed by the socket activation protocol) and
// the emperor channel. The child is detached at once: the emperor's libev
// loop is the only place that reaps (libev's SIGCHLD handler reaps every
// child, so a Boost.Process wait would race it for the status).
#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/credentials.hpp"
#include "core/fd.hpp"

namespace suz {

struct LaunchSpec {
  std::string program;                              // the vassal binary
  std::filesystem::path file;                       // its TOML file
  std::vector<std::pair<std::string, int>> sockets;  // name ("http0") and the emperor's fd
  double heartbeat_seconds = 5;
  std::optional<Credentials> become;                // switch to this user before exec (emperor is root)
};

struct Launched {
  pid_t pid = 0;
  Fd channel;  // the emperor's end (SOCK_SEQPACKET, non-blocking)
};

// Throws std::runtime_error naming the file when the process cannot start.
Launched launch_vassal(const LaunchSpec& spec);

// What a Vassal does to the world: start a master, signal one. The real
// ones by default; unit tests give their own (tests/unit/emperor_vassal_test.cpp).
struct MasterLauncher {
  std::function<Launched(const LaunchSpec&)> launch = launch_vassal;
  std::function<void(pid_t, int)> signal = [](pid_t pid, int sig) { ::kill(pid, sig); };
};

}  // namespace suz
