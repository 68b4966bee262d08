#pragma once
// The emperor's end of its control socket (a unix socket, mode 0600; the
// protocol is emperor/control.hpp): reads each client's request line off
// the loop, hands it to the emperor, and writes the one answer whenever the
// emperor gives it (a command's comes when its outcome is known).
#include <ev++.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/fd.hpp"
#include "emperor/control.hpp"

namespace suz {

class ControlServer {
 public:
  // Called at most once, with the whole answer; a no-op once the client or
  // the server is gone.
  using Reply = std::function<void(const std::string& answer)>;
  using Handler = std::function<void(const control::Request&, Reply)>;

  // Throws std::system_error naming the path.
  ControlServer(struct ev_loop* loop, std::filesystem::path path, Handler handler);
  ~ControlServer();  // removes the socket file; clients still waiting are closed
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Client;
  void on_accept();
  void on_readable(Client& c);
  void answer(std::uint64_t id, const std::string& text);

  struct ev_loop* loop_;
  std::filesystem::path path_;
  Handler handler_;
  Fd listener_;
  ev::io io_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::unique_ptr<Client>> clients_;
  std::shared_ptr<ControlServer*> alive_;  // Replies hold it weakly: they outlive neither the server nor a client
};

// The client: sends request to the emperor at path and returns its answer.
// Blocks until the answer (a command's outcome). Throws std::runtime_error
// saying why (no emperor there, ...).
std::string ask_emperor(const std::filesystem::path& path, const control::Request& request);

}  // namespace suz
