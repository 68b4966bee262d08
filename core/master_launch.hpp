#pragma once
// Starts a vassal master: fork+exec of `vassal FILE` through Boost.Process,
// with its listening sockets (passed by the socket activation protocol) and
// a channel back to whoever started it: the emperor (core/emperor_channel.hpp),
// or the master it will replace on a standalone HUP
// (core/successor_channel.hpp). The child is detached at once: the
// starter's libev loop is the only place that reaps (libev's SIGCHLD
// handler reaps every child, so a Boost.Process wait would race it).
//
// The child makes only async-signal-safe calls between fork and exec, so
// it is safe from a master with CPython loaded and threads running.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/credentials.hpp"
#include "core/fd.hpp"

namespace suz {

struct LaunchSpec {
  std::string program;                               // the vassal binary
  std::filesystem::path file;                        // its TOML file
  std::vector<std::pair<std::string, int>> sockets;  // name ("http0") and the starter's fd
  // The child's end of the channel is passed as the fd this variable names.
  std::string channel_variable;
  // The child's environment: base (this process's own if absent), without
  // the variables of the protocols above, then environment.
  std::optional<std::vector<std::string>> base_environment;
  std::vector<std::string> environment;              // more NAME=VALUE for the child
  std::optional<Credentials> become;                 // switch to this user before exec (the starter is root)
  // PR_SET_PDEATHSIG: a vassal dies with its emperor, even a SIGKILLed one;
  // a standalone master's successor outlives it.
  bool dies_with_parent = true;
  // NOTIFY_SOCKET is passed on only to a successor, which tells systemd
  // itself; an emperor's vassals never see the emperor's.
  bool keeps_notify_socket = false;
};

struct Launched {
  pid_t pid = 0;
  Fd channel;  // the starter's end (SOCK_SEQPACKET, non-blocking)
};

// Throws std::runtime_error naming the file when the process cannot start.
Launched launch_master(const LaunchSpec& spec);

}  // namespace suz
