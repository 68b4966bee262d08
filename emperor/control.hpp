#pragma once
// The emperor's control socket (DIR/.emperor.sock, or --status-socket): the
// one home of its protocol, included by the emperor and by the `emperor
// status|reload|stop|start` client.
//
// A client connects, sends one request line and reads one JSON document
// until the emperor closes the connection:
//
//   ""  or "status"   {"emperor_pid": ..., "vassals": [...]}  (at once)
//   "reload NAME"     a new master loads the file and takes over once serving
//   "stop NAME"       its masters stop; it stays stopped (state "stopped"),
//                     file changes and all, until "start NAME"
//   "start NAME"      starts a stopped vassal (or one in backoff, at once)
//
// A command's answer comes when its outcome is known (the new master serves,
// or failed; the last master is gone): {"ok": true, "vassal": NAME,
// "message": "..."} or {"ok": false, "error": "..."}. A line ends at "\n",
// or at the client's shutdown(SHUT_WR), so that `socat - UNIX:PATH
// </dev/null` still gets the status. NAME is a vassal's name ([vassal] name,
// or its file's stem) or its file name.
#include <optional>
#include <string>
#include <string_view>

namespace suz::control {

enum class Verb { kStatus, kReload, kStop, kStart };

struct Request {
  Verb verb = Verb::kStatus;
  std::string name;  // the vassal (every verb but kStatus)
};

// nullopt with why: an unknown verb, a missing or extra name.
struct ParseResult {
  std::optional<Request> request;
  std::string error;
};
ParseResult parse_request(std::string_view line);

// The request line a client sends (with its "\n").
std::string request_line(const Request& r);
std::string_view verb_name(Verb v);

// The answers to a command.
std::string ok_reply(std::string_view vassal, std::string_view message);
std::string error_reply(std::string_view error);

inline constexpr std::size_t kMaxRequestLine = 512;  // bytes, "\n" included
inline constexpr double kRequestTimeout = 5.0;       // seconds for the line to arrive

}  // namespace suz::control
