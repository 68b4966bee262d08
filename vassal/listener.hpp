#pragma once
// A listening socket the master bound before forking, and its protocol.
#include "core/fd.hpp"
#include "core/listen_address.hpp"
#include "vassal/connection.hpp"

namespace suz {

struct Listener {
  ListenAddress address;
  Protocol protocol;
  Fd fd;  // non-blocking, shared by every worker
};

}  // namespace suz
