#include "core/inherited_sockets.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/config.hpp"

namespace suz {

std::string socket_name(std::string_view list, std::size_t index) {
  return std::string(list) + std::to_string(index);
}

std::vector<NamedAddress> sockets_of(const VassalConfig& config) {
  std::vector<NamedAddress> out;
  for (std::size_t i = 0; i < config.server.http.size(); ++i)
    out.push_back({socket_name("http", i), "http", config.server.http[i]});
  for (std::size_t i = 0; i < config.server.uwsgi.size(); ++i)
    out.push_back({socket_name("uwsgi", i), "uwsgi", config.server.uwsgi[i]});
  if (config.stats.listen) out.push_back({socket_name("stats", 0), "stats", *config.stats.listen});
  return out;
}

InheritedSockets InheritedSockets::take_from_environment() {
  InheritedSockets result;
  char** names = nullptr;
  int n = sd_listen_fds_with_names(/*unset_environment=*/1, &names);
  if (n < 0) throw std::runtime_error(std::string("inherited sockets (LISTEN_FDS): ") + std::strerror(-n));
  for (int i = 0; i < n; ++i) {
    Fd fd(SD_LISTEN_FDS_START + i);
    fd.set_cloexec(true);  // passed to this process, not to what it starts
    std::string name = names && names[i] ? names[i] : "unknown";
    result.sockets_[name] = std::move(fd);
  }
  if (names) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return result;
}

std::optional<Fd> InheritedSockets::take(const std::string& name) {
  auto it = sockets_.find(name);
  if (it == sockets_.end()) return std::nullopt;
  Fd fd = std::move(it->second);
  sockets_.erase(it);
  return fd;
}

}  // namespace suz
