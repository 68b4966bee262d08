// The emperor's answers on its control socket (emperor/control.hpp).
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "emperor/emperor.hpp"

namespace suz {

std::string Emperor::status_json() const {
  using json = nlohmann::ordered_json;
  json vassals = json::array();
  for (const auto& [file, v] : vassals_) {
    json entry = {{"name", v->name()},
                  {"state", v->state_name()},
                  {"pid", v->pid()},
                  {"uptime_seconds", v->uptime_seconds()},
                  {"restarts", v->restarts()},
                  {"last_exit", v->last_exit()},
                  {"config", v->path().string()}};
    if (auto in = v->restart_in()) entry["restart_in_seconds"] = *in;  // in backoff
    vassals.push_back(std::move(entry));
  }
  json doc = {{"emperor_pid", ::getpid()}, {"vassals_dir", options_.dir.string()}, {"vassals", vassals}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void Emperor::control(const control::Request& request, ControlServer::Reply reply) {
  if (request.verb == control::Verb::kStatus) {
    reply(status_json());
    return;
  }
  if (stopping_) {
    reply(control::error_reply("the emperor is stopping"));
    return;
  }
  // By name ([vassal] name, or the file's stem), or by file name.
  std::vector<std::string> matches, names;
  for (const auto& [file, v] : vassals_) {
    names.push_back(v->name());
    if (v->name() == request.name || file == request.name || std::filesystem::path(file).stem() == request.name)
      matches.push_back(file);
  }
  if (matches.size() != 1) {
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
    reply(control::error_reply(
        matches.empty() ? "no vassal named \"" + request.name + "\" (vassals: " + (known.empty() ? "none" : known) + ")"
                        : "\"" + request.name + "\" names " + std::to_string(matches.size()) +
                              " vassals: give the file name instead"));
    return;
  }
  const std::string& file = matches.front();
  Vassal& v = *vassals_.at(file);
  Vassal::Answer answer = [reply, name = v.name()](bool ok, const std::string& message) {
    reply(ok ? control::ok_reply(name, message) : control::error_reply(name + ": " + message));
  };
  switch (request.verb) {
    case control::Verb::kReload: read_then(file, Vassal::Event::kReload, std::move(answer)); break;
    case control::Verb::kStart: read_then(file, Vassal::Event::kRelease, std::move(answer)); break;
    case control::Verb::kStop:
      v.await(Vassal::Awaited::kStopped, std::move(answer));
      v.on(Vassal::Event::kHold);
      forget_finished();
      break;
    case control::Verb::kStatus: break;
  }
}

}  // namespace suz
