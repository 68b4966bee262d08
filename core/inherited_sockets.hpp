#pragma once
// Listening sockets handed to a vassal by its emperor (or by systemd): the
// socket activation protocol (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES; fds
// from 3). The emperor binds a vassal's sockets and passes the same ones to
// every generation of it, so a reload never closes a listening socket and
// never loses a connection waiting in its queue.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"
#include "core/listen_address.hpp"

namespace suz {

// The name a socket is passed under: "http0", "uwsgi1", "stats0", for the
// config's list (`[server] http`, `[server] uwsgi`, `[stats] listen`) and
// the index in it. Names cannot hold the protocol's ':' separator, so they
// are positional rather than the address itself.
std::string socket_name(std::string_view list, std::size_t index);

// Every socket of a vassal's config with its name, in the order above.
struct NamedAddress {
  std::string name;
  std::string_view protocol;  // "http", "uwsgi", "stats"
  ListenAddress address;
};
struct VassalConfig;
std::vector<NamedAddress> sockets_of(const VassalConfig& config);

class InheritedSockets {
 public:
  // Takes the sockets passed to this process (and clears the variables, so
  // nothing this process starts believes they are meant for it). Empty when
  // none were passed. Throws std::runtime_error when LISTEN_* is malformed.
  static InheritedSockets take_from_environment();

  // The socket passed under name, once; nullopt if none was.
  std::optional<Fd> take(const std::string& name);
  bool empty() const { return sockets_.empty(); }
  std::size_t size() const { return sockets_.size(); }

 private:
  std::map<std::string, Fd> sockets_;
};

}  // namespace suz
