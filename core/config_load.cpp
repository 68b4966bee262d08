// Loads a vassal file: the list of sections and keys with their rules.
// Everything about reading a single typed value is in config_reader.cpp.
#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <cstring>
#include <set>

#include "core/config.hpp"
#include "core/config_file.hpp"
#include "core/config_reader.hpp"
#include "core/env_file.hpp"
#include "core/log.hpp"
#include "core/redis_url.hpp"

namespace suz {
namespace {

using config_detail::Diagnostics;
using config_detail::TableReader;
namespace fs = std::filesystem;

const std::vector<std::string_view> kSections{"vassal", "app",   "mount", "server", "lifetime",
                                              "spooler", "stats", "log",   "env"};

fs::path resolve(const fs::path& base, const std::string& p) {
  if (p.empty()) return {};
  fs::path out = (base / p).lexically_normal();
  // "/srv/app/." normalises to "/srv/app/": drop the trailing separator.
  if (!out.has_filename() && out.has_parent_path() && out != out.root_path()) out = out.parent_path();
  return out;
}

// "a.b.c": ASCII identifiers joined by single dots.
bool dotted_identifiers(std::string_view text) {
  bool at_start = true;  // of an identifier
  for (char ch : text) {
    bool letter = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
    bool digit = ch >= '0' && ch <= '9';
    if (ch == '.' && !at_start) {
      at_start = true;
    } else if (letter || (digit && !at_start)) {
      at_start = false;
    } else {
      return false;
    }
  }
  return !at_start;
}

// "pkg.mod:callable" or "pkg.mod" (callable defaults to "application").
bool valid_module_spec(std::string_view spec) {
  std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return dotted_identifiers(spec);
  return dotted_identifiers(spec.substr(0, colon)) && dotted_identifiers(spec.substr(colon + 1));
}

std::string with_default_callable(const std::string& spec) {
  return spec.find(':') == std::string::npos ? spec + ":application" : spec;
}

void read_module(TableReader& r, std::string_view key, std::string& out) {
  r.string(key, out);
  if (out.empty()) return;
  if (!valid_module_spec(out)) {
    r.error(key, "\"" + out + "\" is not a WSGI callable (expected \"package.module:callable\")");
    out.clear();
    return;
  }
  out = with_default_callable(out);
}

void read_interpreter(TableReader& r, InterpreterMode& out) {
  std::string mode;
  r.string("interpreter", mode);
  if (mode.empty() || mode == "main") return;
  if (mode == "isolated")
    out = InterpreterMode::kIsolated;
  else
    r.error("interpreter", "must be \"main\" or \"isolated\", got \"" + mode + "\"");
}

// One of choices into out, which is left as it is (the default) when the key is absent.
template <typename E>
void read_choice(TableReader& r, std::string_view key, std::initializer_list<std::pair<std::string_view, E>> choices,
                 E& out) {
  std::string given;
  r.string(key, given);
  if (!r.has(key)) return;
  std::string names;
  for (const auto& [name, value] : choices) {
    if (given == name) {
      out = value;
      return;
    }
    names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  r.error(key, "must be one of " + names + ", got \"" + given + "\"");
}

void read_interface(TableReader& r, AppInterface& out) {
  read_choice(r, "interface", {{"wsgi", AppInterface::kWsgi}, {"asgi", AppInterface::kAsgi}}, out);
}

void read_listeners(TableReader& r, std::string_view key, const fs::path& base,
                    std::vector<ListenAddress>& out) {
  std::vector<std::string> texts;
  r.string_list(key, texts);
  for (const std::string& text : texts) {
    auto a = parse_listen_address(text);
    if (!a) {
      r.error(key, a.error());
      continue;
    }
    if (a->kind == ListenAddress::Kind::kUnix) a->path = resolve(base, a->path).string();
    out.push_back(*a);
  }
}

const toml::table* section(Diagnostics& diag, const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (auto t = node->as_table()) return t;
  diag.add(node->source(), "[" + std::string(name) + "]",
           "expected a table, got " + std::string(config_detail::type_name(node->type())));
  return nullptr;
}

void set_env(VassalConfig& c, std::string name, std::string value) {
  for (auto& [n, v] : c.env)
    if (n == name) {
      v = std::move(value);
      return;
    }
  c.env.emplace_back(std::move(name), std::move(value));
}

// env_file's variables first; [env]'s (read_env) go over them.
void read_env_file(Diagnostics& diag, const toml::node& where, VassalConfig& c, const std::string& name) {
  c.vassal.env_file = resolve(c.file.parent_path(), name);
  auto text = read_config_file(c.vassal.env_file);
  if (!text) {
    diag.add(where.source(), "[vassal] env_file", c.vassal.env_file.string() + ": " + text.error().message);
    return;
  }
  auto vars = parse_env_file(*text, c.vassal.env_file.string());
  if (!vars) {
    for (const ConfigIssue& issue : vars.error()) diag.add(issue);
    return;
  }
  for (auto& [n, v] : *vars) set_env(c, std::move(n), std::move(v));
}

void read_vassal(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  TableReader r(diag, section(diag, root, "vassal"), "[vassal]");
  r.string("name", c.vassal.name);
  r.string_or_int("uid", c.vassal.uid);
  r.string_or_int("gid", c.vassal.gid);
  std::string env_file;
  r.string("env_file", env_file);
  r.finish();
  if (c.vassal.name.empty()) c.vassal.name = c.file.stem().string();
  if (!env_file.empty()) read_env_file(diag, *root["vassal"]["env_file"].node(), c, env_file);
}

void read_env(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  const toml::table* t = section(diag, root, "env");
  if (!t) return;
  for (auto&& [k, v] : *t) {
    std::string name(k.str());
    std::string key = "[env] " + name;
    if (!is_env_name(name)) {
      diag.add(k.source(), key, "not a variable name (letters, digits and _, not starting with a digit)");
    } else if (is_reserved_env_name(name)) {
      diag.add(k.source(), key, kReservedEnvName);
    } else if (!v.is_string()) {
      diag.add(v.source(), key, "expected a string, got " + std::string(config_detail::type_name(v.type())) +
                                    " (quote it: environment values are strings)");
    } else if (v.as_string()->get().size() > kMaxConfigString) {
      diag.add(v.source(), key, "longer than " + std::to_string(kMaxConfigString) + " bytes");
    } else {
      set_env(c, name, v.as_string()->get());
    }
  }
}

void read_app(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  const fs::path dir = c.file.parent_path();
  TableReader r(diag, section(diag, root, "app"), "[app]");
  read_module(r, "module", c.app.module);
  std::string chdir = ".", virtualenv;
  std::vector<std::string> pythonpath{"."};
  r.string("chdir", chdir);
  r.string_list("pythonpath", pythonpath);
  r.string("virtualenv", virtualenv);
  read_interpreter(r, c.app.interpreter);
  read_interface(r, c.app.interface);
  read_choice(r, "loop", {{"auto", EventLoopKind::kAuto}, {"asyncio", EventLoopKind::kAsyncio}, {"uvloop", EventLoopKind::kUvloop}},
              c.app.loop);
  read_choice(r, "lifespan", {{"auto", LifespanMode::kAuto}, {"on", LifespanMode::kOn}, {"off", LifespanMode::kOff}},
              c.app.lifespan);
  bool asgi = c.app.interface == AppInterface::kAsgi;
  for (std::string_view key : {"loop", "lifespan"})
    if (r.has(key) && !asgi) r.error(key, "only for an ASGI app: set [app] interface = \"asgi\"");
  if (asgi && c.app.interpreter == InterpreterMode::kIsolated)
    r.error("interpreter", "an ASGI app runs on the worker's one event loop, in the main interpreter");
  r.finish();
  c.app.chdir = resolve(dir, chdir);
  for (const std::string& p : pythonpath) c.app.pythonpath.push_back(resolve(c.app.chdir, p));
  c.app.virtualenv = resolve(dir, virtualenv);
}

void read_mounts(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  const toml::node* node = root.get("mount");
  if (!node) return;
  const toml::array* arr = node->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    diag.add(node->source(), "[[mount]]", "expected an array of tables ([[mount]] sections)");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    TableReader r(diag, t, "[[mount]] #" + std::to_string(i + 1));
    MountConfig m;
    r.string("path", m.path);
    read_module(r, "module", m.module);
    read_interpreter(r, m.interpreter);
    AppInterface interface = c.app.interface;
    read_interface(r, interface);
    if (interface != c.app.interface)
      r.error("interface", std::string("\"") + (interface == AppInterface::kAsgi ? "asgi" : "wsgi") +
                               "\", but [app] interface is \"" +
                               (c.app.interface == AppInterface::kAsgi ? "asgi" : "wsgi") +
                               "\": a vassal serves one interface (give this app a vassal of its own, or set [app] interface)");
    else if (interface == AppInterface::kAsgi && m.interpreter == InterpreterMode::kIsolated)
      r.error("interpreter", "an ASGI app runs on the worker's one event loop, in the main interpreter");
    r.finish();
    if (!r.has("path"))
      r.missing("path", "the URL prefix, e.g. \"/api\"");
    else if (!m.path.starts_with("/") || (m.path.size() > 1 && m.path.ends_with("/")))
      r.error("path", "must start with \"/\" and not end with one (\"/api\"), got \"" + m.path + "\"");
    else if (!seen.insert(m.path).second)
      r.error("path", "\"" + m.path + "\" is mounted twice");
    if (!r.has("module")) r.missing("module", "the WSGI callable, e.g. \"api:application\"");
    c.mounts.push_back(std::move(m));
  }
}

// Per connection: a worker holds up to max_connections of each.
constexpr std::uint64_t kMaxBuffer = 64ull << 20;

void read_addresses(TableReader& r, std::string_view key, AddressSet& out) {
  bool present = r.has(key);
  std::vector<std::string> entries;
  r.string_list(key, entries);  // known to finish() even when absent
  if (!present) return;
  auto set = AddressSet::parse(entries);
  if (set) out = std::move(*set);
  else r.error(key, set.error());
}

void read_server(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  const fs::path dir = c.file.parent_path();
  TableReader r(diag, section(diag, root, "server"), "[server]");
  read_listeners(r, "http", dir, c.server.http);
  read_listeners(r, "uwsgi", dir, c.server.uwsgi);
  r.integer("workers", c.server.workers, 0, 4096);
  r.integer("threads", c.server.threads, 1, 1024);
  r.integer("backlog", c.server.backlog, 1, 65535);
  r.integer("max_connections", c.server.max_connections, 1, 1000000);
  r.size("max_header_size", c.server.max_header_size);
  r.size("max_body_size", c.server.max_body_size);
  r.duration("header_timeout", c.server.header_timeout);
  r.duration("keepalive_timeout", c.server.keepalive_timeout);
  r.duration("io_timeout", c.server.io_timeout);
  r.size("buffer_body", c.server.buffer_body);
  r.size("buffer_response", c.server.buffer_response);
  read_addresses(r, "forwarded_allow_ips", c.server.forwarded_allow_ips);
  r.boolean("forwarded_host", c.server.forwarded_host);
  read_addresses(r, "uwsgi_allow_ips", c.server.uwsgi_allow_ips);
  r.finish();
  if (c.server.max_header_size < 1024 || c.server.max_header_size > 1024 * 1024)
    r.error("max_header_size", "must be from 1KB to 1MB, got " + format_size(c.server.max_header_size));
  if (c.server.header_timeout.count() == 0) r.error("header_timeout", "must be more than 0");
  if (c.server.io_timeout.count() == 0) r.error("io_timeout", "must be more than 0");
  for (auto [key, value] : {std::pair{"buffer_body", c.server.buffer_body}, {"buffer_response", c.server.buffer_response}})
    if (value > kMaxBuffer) r.error(key, "must be at most " + format_size(kMaxBuffer) + ", got " + format_size(value));

  std::vector<ListenAddress> all = c.server.http;
  all.insert(all.end(), c.server.uwsgi.begin(), c.server.uwsgi.end());
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j)
      if (all[i] == all[j] && !(all[i].kind == ListenAddress::Kind::kTcp && all[i].port == 0))  // :0 = any free port
        r.error(j < c.server.http.size() ? "http" : "uwsgi", all[j].str() + " is listed twice");
  if (!all.empty() && c.server.workers == 0)
    r.error("workers", "must be at least 1 when the vassal has listeners");
}

void read_lifetime(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  TableReader r(diag, section(diag, root, "lifetime"), "[lifetime]");
  r.duration("max_worker_lifetime", c.lifetime.max_worker_lifetime);
  r.count("max_requests", c.lifetime.max_requests);
  r.size("max_rss", c.lifetime.max_rss);
  r.duration("harakiri", c.lifetime.harakiri);
  r.duration("graceful_timeout", c.lifetime.graceful_timeout);
  r.duration("ready_timeout", c.lifetime.ready_timeout);
  r.finish();
  if (c.lifetime.ready_timeout.count() == 0) r.error("ready_timeout", "must be more than 0");
}

void read_spooler(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  TableReader r(diag, section(diag, root, "spooler"), "[spooler]");
  r.string("dir", c.spooler.dir);
  r.integer("processes", c.spooler.processes, 0, 256);
  read_module(r, "handler", c.spooler.handler);
  r.integer("max_attempts", c.spooler.max_attempts, 1, 1000);
  r.duration("retry_delay", c.spooler.retry_delay);
  r.count("max_jobs", c.spooler.max_jobs);
  r.duration("max_lifetime", c.spooler.max_lifetime);
  r.duration("harakiri", c.spooler.harakiri);
  r.duration("visibility_timeout", c.spooler.visibility_timeout);
  r.finish();
  if (c.spooler.visibility_timeout < std::chrono::seconds(1))
    r.error("visibility_timeout", "must be at least 1s (a vassal renews its claims every third of it)");
  if (c.spooler.dir.empty()) return;
  if (c.spooler.dir.find("://") != std::string::npos) {
    if (!looks_like_redis_url(c.spooler.dir))
      r.error("dir", "unknown queue URL \"" + c.spooler.dir +
                         "\" (expected a directory, redis://host:port/db/queue or redis+unix:///path.sock/db/queue)");
    else if (auto url = parse_redis_url(c.spooler.dir); !url)
      r.error("dir", "\"" + c.spooler.dir + "\": " + url.error());
  } else {
    c.spooler.dir = resolve(c.file.parent_path(), c.spooler.dir).string();
  }
  if (!r.has("handler") && c.spooler.processes > 0)
    r.missing("handler", "the job handler, e.g. \"tasks:handle\", is needed to run jobs (or set processes = 0 to only enqueue)");
}

void read_stats(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  TableReader r(diag, section(diag, root, "stats"), "[stats]");
  std::vector<ListenAddress> listen;
  read_listeners(r, "listen", c.file.parent_path(), listen);
  r.finish();
  if (listen.size() > 1) r.error("listen", "takes one address");
  if (!listen.empty()) c.stats.listen = listen.front();
}

void read_log(Diagnostics& diag, const toml::table& root, VassalConfig& c) {
  TableReader r(diag, section(diag, root, "log"), "[log]");
  std::string format = "text", file, access, access_format = "combined";
  r.string("format", format);
  r.string("level", c.log.level);
  r.string("file", file);
  r.string("access", access);
  r.string("access_format", access_format);
  r.finish();
  if (access == "stderr" || access == "stdout" || access.empty()) c.access_log = access;
  else c.access_log = resolve(c.file.parent_path(), access).string();
  if (auto f = AccessFormat::parse(access_format))
    c.access_format = std::move(*f);
  else
    r.error("access_format", f.error());
  if (auto f = parse_log_format(format))
    c.log.format = *f;
  else
    r.error("format", f.error());
  if (!is_log_level(c.log.level))
    r.error("level", "unknown level \"" + c.log.level +
                         "\" (expected trace, debug, info, warning, error, critical or off)");
  c.log.file = resolve(c.file.parent_path(), file).string();
}

// A section already reported if malformed: look it up without reporting again.
const toml::table* quiet_section(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  return node ? node->as_table() : nullptr;
}

void check_whole(Diagnostics& diag, const toml::table& root, const VassalConfig& c) {
  TableReader app(diag, quiet_section(root, "app"), "[app]");
  // A vassal that only runs jobs serves no app.
  bool serves = !c.server.http.empty() || !c.server.uwsgi.empty();
  bool only_jobs = !serves && !c.spooler.dir.empty();
  if (c.app.module.empty() && c.mounts.empty() && !app.has("module") && !only_jobs)
    app.missing("module", "the WSGI callable, e.g. \"hello:application\", or [[mount]] sections");
  for (const MountConfig& m : c.mounts)
    if (m.path == "/" && !c.app.module.empty())
      app.error("module", "[app] module is served at \"/\" and a [[mount]] also claims \"/\"");
  // Keys that are present but invalid were reported already; only absence is new.
  TableReader server(diag, quiet_section(root, "server"), "[server]");
  TableReader spooler(diag, quiet_section(root, "spooler"), "[spooler]");
  const toml::node* server_node = root.get("server");
  bool server_reported = server_node && !server_node->is_table();
  if (!server_reported && !server.has("http") && !server.has("uwsgi") && !spooler.has("dir")) {
    server.missing("http", "nothing to run: give [server] http or uwsgi listeners, or a [spooler] dir");
  }
}

}  // namespace

std::string ConfigIssue::str() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out = escaped(out + message);
  // A key is a name, not a value, and has no limit of its own: a line about
  // a 1 MiB key must not be a 1 MiB log line.
  constexpr std::size_t kMaxLine = 2048;
  if (out.size() > kMaxLine) out = out.substr(0, kMaxLine) + "... (" + std::to_string(out.size() - kMaxLine) + " bytes more)";
  return out;
}

std::size_t problem_count(const std::vector<ConfigIssue>& issues) {
  if (issues.empty()) return 0;
  return issues.size() + (issues.back().not_shown ? issues.back().not_shown - 1 : 0);
}

ConfigResult parse_vassal_config(std::string_view text, const fs::path& file) {
  VassalConfig c;
  std::error_code ec;  // no working directory (removed under us): keep the path as given
  c.file = fs::absolute(file, ec).lexically_normal();
  if (ec) c.file = file.lexically_normal();
  Diagnostics diag(file.string());
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(diag.file()));
  } catch (const toml::parse_error& e) {
    diag.add(e.source(), "", "TOML syntax error: " + std::string(e.description()));
    return unexpected(diag.take_issues());
  }

  read_vassal(diag, root, c);
  read_app(diag, root, c);
  read_mounts(diag, root, c);
  read_server(diag, root, c);
  read_lifetime(diag, root, c);
  read_spooler(diag, root, c);
  read_stats(diag, root, c);
  read_log(diag, root, c);
  read_env(diag, root, c);
  for (auto&& [k, v] : root) {
    if (std::find(kSections.begin(), kSections.end(), k.str()) != kSections.end()) continue;
    std::string message = v.is_table() ? "unknown section" : "unknown key outside any section";
    if (auto guess = config_detail::closest(k.str(), kSections); !guess.empty())
      message += " (did you mean [" + guess + "]?)";
    diag.add(k.source(), "[" + std::string(k.str()) + "]", message);
  }
  check_whole(diag, root, c);

  if (!diag.empty()) return unexpected(diag.take_issues());
  return c;
}

ConfigResult load_vassal_config(const fs::path& file) {
  auto text = read_config_file(file);
  if (!text) return unexpected(std::vector<ConfigIssue>{std::move(text.error())});
  return parse_vassal_config(*text, file);
}

}  // namespace suz
