#pragma once
// `emperor status`: the emperor answers every connection to its status socket
// (a unix socket, mode 0600) with one JSON document, then closes it.
#include <ev++.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/fd.hpp"

namespace suz {

class StatusServer {
 public:
  using Render = std::function<std::string()>;

  // Throws std::system_error naming the path.
  StatusServer(struct ev_loop* loop, std::filesystem::path path, Render render);
  ~StatusServer();  // removes the socket file
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  void on_accept();

  std::filesystem::path path_;
  Render render_;
  Fd listener_;
  ev::io io_;
};

// The client: the status document from the emperor at path. Throws
// std::runtime_error saying why (no emperor there, ...).
std::string fetch_status(const std::filesystem::path& path);

}  // namespace suz
