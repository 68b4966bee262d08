#pragma once
// The listening sockets the emperor holds for one vassal, kept across its
// generations: a reload passes the very same sockets to the new master, so
// no connection waiting in a listen queue is lost and no port is ever
// closed. A socket the new config no longer names is closed (and a unix
// socket's path removed) once no generation uses it.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/fd.hpp"
#include "core/listen_address.hpp"

namespace suz {

struct VassalConfig;

class VassalSockets {
 public:
  VassalSockets() = default;
  ~VassalSockets();
  VassalSockets(const VassalSockets&) = delete;
  VassalSockets& operator=(const VassalSockets&) = delete;

  // The sockets for config, named for LISTEN_FDNAMES ("http0", ...): those
  // already held are reused, the others bound now. Throws std::system_error
  // naming the address when one cannot be bound (nothing held changes then).
  std::vector<std::pair<std::string, int>> prepare(const VassalConfig& config);
  // Keep only what the last prepare() returned.
  void forget_unused();
  // Close everything (the vassal is gone).
  void clear();

 private:
  struct Held {
    ListenAddress address;
    Fd fd;
  };
  static void close(Held& h);
  std::map<std::string, std::shared_ptr<Held>> held_;    // key: protocol and address
  std::map<std::string, std::shared_ptr<Held>> latest_;  // what the last prepare() used
};

}  // namespace suz
