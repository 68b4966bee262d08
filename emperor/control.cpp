#include "emperor/control.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace suz::control {
namespace {

constexpr std::array<std::pair<Verb, std::string_view>, 4> kVerbs = {{
    {Verb::kStatus, "status"},
    {Verb::kReload, "reload"},
    {Verb::kStop, "stop"},
    {Verb::kStart, "start"},
}};

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::string dump(const nlohmann::ordered_json& doc) {
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string_view verb_name(Verb v) {
  for (const auto& [verb, name] : kVerbs)
    if (verb == v) return name;
  return "status";
}

ParseResult parse_request(std::string_view line) {
  line = trimmed(line);
  std::string_view word = line.substr(0, line.find_first_of(" \t"));
  std::string_view rest = trimmed(line.substr(word.size()));
  if (word.empty()) return {Request{}, {}};
  for (const auto& [verb, name] : kVerbs) {
    if (word != name) continue;
    if (verb == Verb::kStatus) {
      if (!rest.empty()) return {std::nullopt, "status takes no vassal name"};
      return {Request{}, {}};
    }
    if (rest.empty()) return {std::nullopt, std::string(name) + " needs a vassal name"};
    if (rest.find_first_of(" \t") != std::string_view::npos)
      return {std::nullopt, std::string(name) + " takes one vassal name"};
    return {Request{verb, std::string(rest)}, {}};
  }
  return {std::nullopt, "unknown command \"" + std::string(word.substr(0, 40)) + "\" (status, reload, stop, start)"};
}

std::string request_line(const Request& r) {
  std::string line(verb_name(r.verb));
  if (r.verb != Verb::kStatus) line += " " + r.name;
  return line + "\n";
}

std::string ok_reply(std::string_view vassal, std::string_view message) {
  return dump({{"ok", true}, {"vassal", vassal}, {"message", message}});
}

std::string error_reply(std::string_view error) { return dump({{"ok", false}, {"error", error}}); }

}  // namespace suz::control
