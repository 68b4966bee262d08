#include "core/env_file.hpp"

namespace suz {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The value after "KEY=", or why it is not one.
Result<std::string, std::string> value_of(std::string_view raw) {
  raw = trimmed(raw);
  if (raw.empty()) return std::string();
  char quote = raw.front();
  if (quote != '\'' && quote != '"') {
    // Unquoted: up to a comment, trimmed.
    for (std::size_t i = 1; i < raw.size(); ++i)
      if (raw[i] == '#' && is_space(raw[i - 1])) return std::string(trimmed(raw.substr(0, i)));
    if (raw.find_first_of("'\"") != std::string_view::npos) return unexpected(std::string("a quote inside an unquoted value"));
    return std::string(raw);
  }
  std::string out;
  std::size_t i = 1;
  for (; i < raw.size() && raw[i] != quote; ++i) {
    if (quote == '"' && raw[i] == '\\' && i + 1 < raw.size()) {
      char n = raw[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
      continue;
    }
    out += raw[i];
  }
  if (i >= raw.size()) return unexpected(std::string("an unterminated quote"));
  std::string_view rest = trimmed(raw.substr(i + 1));
  if (!rest.empty() && rest.front() != '#') return unexpected(std::string("text after the closing quote"));
  return out;
}

}  // namespace

bool is_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool is_reserved_env_name(std::string_view name) {
  return name.starts_with("SUZERAIN_") || name == "LISTEN_FDS" || name == "LISTEN_PID" || name == "LISTEN_FDNAMES" ||
         name == "NOTIFY_SOCKET";
}

Result<EnvVars, std::vector<ConfigIssue>> parse_env_file(std::string_view text, const std::string& file) {
  EnvVars vars;
  std::vector<ConfigIssue> issues;
  int line_no = 0;
  for (std::size_t start = 0; start <= text.size() && issues.size() < kMaxConfigIssues;) {
    std::size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    ++line_no;
    std::string_view body = trimmed(line);
    if (body.empty() || body.front() == '#') continue;
    if (body.substr(0, 7) == "export " || body.substr(0, 7) == "export\t") body = trimmed(body.substr(7));
    std::size_t eq = body.find('=');
    std::string name(trimmed(body.substr(0, eq)));
    if (eq == std::string_view::npos || !is_env_name(name)) {
      issues.push_back(ConfigIssue{file, line_no, 1, "", "expected KEY=VALUE, with KEY letters, digits and _"});
      continue;
    }
    if (is_reserved_env_name(name)) {
      issues.push_back(ConfigIssue{file, line_no, 1, name, kReservedEnvName});
      continue;
    }
    auto value = value_of(body.substr(eq + 1));
    if (!value) {
      issues.push_back(ConfigIssue{file, line_no, static_cast<int>(eq + 2), name, value.error()});
      continue;
    }
    if (value->size() > kMaxConfigString) {
      issues.push_back(ConfigIssue{file, line_no, static_cast<int>(eq + 2), name,
                                   "longer than " + std::to_string(kMaxConfigString) + " bytes"});
      continue;
    }
    vars.emplace_back(std::move(name), std::move(*value));
  }
  if (!issues.empty()) return unexpected(std::move(issues));
  return vars;
}

}  // namespace suz
