#include "emperor/vassal_sockets.hpp"

#include <unistd.h>

#include "core/config.hpp"
#include "core/inherited_sockets.hpp"
#include "core/socket.hpp"

namespace suz {

VassalSockets::~VassalSockets() { clear(); }

std::vector<std::pair<std::string, int>> VassalSockets::prepare(const VassalConfig& config) {
  std::map<std::string, std::shared_ptr<Held>> next;
  std::vector<std::pair<std::string, int>> named;
  for (const NamedAddress& s : sockets_of(config)) {
    std::string key = std::string(s.protocol) + " " + s.address.str();
    auto it = held_.find(key);
    std::shared_ptr<Held> h;
    if (it != held_.end()) {
      h = it->second;
    } else {
      h = std::make_shared<Held>();
      h->address = s.address;
      // A stats socket shows every request in flight: private, as the vassal
      // would make it (the emperor is single-threaded).
      h->fd = s.protocol == "stats" ? listen_on_private(s.address, config.server.backlog)
                                    : listen_on(s.address, config.server.backlog);  // throw, naming the address
    }
    next[key] = h;
    named.emplace_back(s.name, h->fd.get());
  }
  for (auto& [key, h] : next) held_[key] = h;
  latest_ = std::move(next);
  return named;
}

void VassalSockets::forget_unused() {
  for (auto it = held_.begin(); it != held_.end();) {
    if (latest_.count(it->first)) {
      ++it;
    } else {
      close(*it->second);
      it = held_.erase(it);
    }
  }
}

void VassalSockets::clear() {
  for (auto& [key, h] : held_) close(*h);
  held_.clear();
  latest_.clear();
}

void VassalSockets::close(Held& h) {
  if (h.address.kind == ListenAddress::Kind::kUnix && h.fd) ::unlink(h.address.path.c_str());
  h.fd.reset();
}

}  // namespace suz
