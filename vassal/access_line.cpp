#include "vassal/access_line.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "vassal/ascii.hpp"

namespace suz {
namespace {

// A request's bytes in a text log line: nothing that ends the line, closes
// a quoted field or reaches a terminal as an escape sequence.
void append_escaped(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
}

void append_or_dash(std::string& out, std::string_view v) {
  if (v.empty()) out += '-';
  else append_escaped(out, v);
}

// Formatting the time is the costliest part of a line; requests in the
// same second share it.
struct SecondCache {
  time_t second = -1;
  char text[40] = {};
  std::size_t size = 0;
};

std::string_view clf_time(time_t t) {
  thread_local SecondCache cache;
  if (cache.second != t) {
    tm local{};
    localtime_r(&t, &local);
    cache.size = strftime(cache.text, sizeof cache.text, "%d/%b/%Y:%H:%M:%S %z", &local);
    cache.second = t;
  }
  return {cache.text, cache.size};
}

std::string iso_time(std::chrono::system_clock::time_point at) {
  thread_local SecondCache cache;
  auto since = at.time_since_epoch();
  time_t t = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  if (cache.second != t) {
    tm utc{};
    gmtime_r(&t, &utc);
    cache.size = strftime(cache.text, sizeof cache.text, "%Y-%m-%dT%H:%M:%S", &utc);
    cache.second = t;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  char tail[8];
  std::snprintf(tail, sizeof tail, ".%03dZ", static_cast<int>(ms));
  return std::string(cache.text, cache.size) + tail;
}

std::string fixed(double value, int decimals) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string_view path_of(const Request& r) { return std::string_view(r.target).substr(0, r.target.find('?')); }

}  // namespace

std::string_view header_of(const Request& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (iequals(n, name)) return v;
  if (r.cgi_vars.empty()) return {};
  std::string cgi = "HTTP_";
  for (char c : name) cgi += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [n, v] : r.cgi_vars)
    if (n == cgi) return v;
  return {};
}

namespace {

void append_piece(std::string& out, const AccessFormat::Piece& p, const Served& s, int worker, pid_t pid) {
  using Field = AccessFormat::Field;
  const Request& r = s.request;
  double ms = std::chrono::duration<double, std::milli>(s.duration).count();
  switch (p.field) {
    case Field::kLiteral: out += p.text; break;
    case Field::kRemoteAddr: append_or_dash(out, r.remote_addr); break;
    case Field::kRemotePort: append_or_dash(out, r.remote_port); break;
    case Field::kRequestLine:
      if (r.method.empty()) {
        out += '-';
      } else {
        append_escaped(out, r.method);
        out += ' ';
        append_escaped(out, r.target);
        out += ' ';
        append_escaped(out, r.protocol);
      }
      break;
    case Field::kMethod: append_or_dash(out, r.method); break;
    case Field::kPath: append_or_dash(out, path_of(r)); break;
    case Field::kQuery: append_escaped(out, r.query); break;
    case Field::kTarget: append_or_dash(out, r.target); break;
    case Field::kProtocol: append_or_dash(out, r.protocol); break;
    case Field::kStatus: out += std::to_string(s.status); break;
    case Field::kBytes: out += std::to_string(s.bytes); break;
    case Field::kDurationMs: out += fixed(ms, 3); break;
    case Field::kDurationS: out += fixed(ms / 1000, 6); break;
    case Field::kWorker: out += std::to_string(worker); break;
    case Field::kPid: out += std::to_string(pid); break;
    case Field::kTime: out += clf_time(std::chrono::system_clock::to_time_t(s.started)); break;
    case Field::kTimeIso: out += iso_time(s.started); break;
    case Field::kHeader: append_or_dash(out, header_of(r, p.text)); break;
  }
}

}  // namespace

void append_access_line(std::string& out, const AccessFormat& format, const Served& s, int worker, pid_t pid) {
  if (format.kind != AccessFormat::Kind::kJson) {
    for (const AccessFormat::Piece& p : format.pieces) append_piece(out, p, s, worker, pid);
    out += '\n';
    return;
  }
  const Request& r = s.request;
  // One object per thread, its keys made once: a line then allocates
  // nothing for its keys, nor for values its strings have room for.
  thread_local nlohmann::ordered_json j = {
      {"time", ""}, {"remote_addr", ""}, {"method", ""},    {"path", ""},   {"query", ""},
      {"protocol", ""}, {"status", 0},   {"bytes", 0},      {"duration_ms", 0.0}, {"referer", ""},
      {"user_agent", ""}, {"worker", 0}, {"pid", 0},         {"complete", true}};
  auto set = [](nlohmann::ordered_json& v, std::string_view text) { v.get_ref<std::string&>().assign(text); };
  set(j["time"], iso_time(s.started));
  set(j["remote_addr"], r.remote_addr);
  set(j["method"], r.method);
  set(j["path"], path_of(r));
  set(j["query"], r.query);
  set(j["protocol"], r.protocol);
  j["status"] = s.status;
  j["bytes"] = s.bytes;
  j["duration_ms"] = std::chrono::duration<double, std::milli>(s.duration).count();
  set(j["referer"], header_of(r, "Referer"));
  set(j["user_agent"], header_of(r, "User-Agent"));
  j["worker"] = worker;
  j["pid"] = pid;
  j["complete"] = s.complete;
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += '\n';
}

}  // namespace suz
