#pragma once
// A vassal's configuration: one TOML file, read into these typed structs.
// The TOML key names are the interface users write (docs/config.md); every field
// here is named after its key. Defaults are the documented ones
// (docs/config.md). Relative paths are resolved against the file's directory.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/access_format.hpp"
#include "core/address_set.hpp"
#include "core/listen_address.hpp"
#include "core/log.hpp"
#include "core/units.hpp"

namespace suz {

enum class InterpreterMode { kMain, kIsolated };
// How the app is called: PEP 3333, or ASGI 3.0 on an event loop per worker.
enum class AppInterface { kWsgi, kAsgi };
// auto: uvloop when it can be imported, else asyncio (uvicorn's rule).
enum class EventLoopKind { kAuto, kAsyncio, kUvloop };
// ASGI lifespan, as uvicorn: auto runs it and goes on if the app does not
// support it; on requires it; off never sends it.
enum class LifespanMode { kAuto, kOn, kOff };

struct AppConfig {
  std::string module;                        // "pkg.mod:callable"; empty when only [[mount]]s
  std::filesystem::path chdir;               // absolute after loading
  std::vector<std::filesystem::path> pythonpath;  // absolute after loading
  std::filesystem::path virtualenv;          // empty: none
  InterpreterMode interpreter = InterpreterMode::kMain;
  AppInterface interface = AppInterface::kWsgi;  // the vassal's: every mount serves the same
  EventLoopKind loop = EventLoopKind::kAuto;     // ASGI only
  LifespanMode lifespan = LifespanMode::kAuto;   // ASGI only
};

// An app served under a URL prefix ([[mount]] tables).
struct MountConfig {
  std::string path;    // "/api": no trailing slash; "/" is the root
  std::string module;
  InterpreterMode interpreter = InterpreterMode::kMain;
};

struct ServerConfig {
  std::vector<ListenAddress> http;
  std::vector<ListenAddress> uwsgi;
  int workers = 2;
  int threads = 1;
  int backlog = 1024;
  int max_connections = 1000;                     // per worker, idle keep-alive included
  std::uint64_t max_header_size = 32 * 1024;      // request line + headers
  std::uint64_t max_body_size = 0;                // 0 = unlimited
  Duration header_timeout = std::chrono::seconds(10);    // first byte to complete head
  Duration keepalive_timeout = std::chrono::seconds(5);  // idle between requests; 0 = no keep-alive
  Duration io_timeout = std::chrono::seconds(30);        // inactivity while reading a body or writing
  // Slow clients: bodies and responses up to these sizes are read and sent
  // by the worker's I/O thread, so they never hold an app thread; 0 = off.
  std::uint64_t buffer_body = 1 << 20;
  std::uint64_t buffer_response = 1 << 20;
  // Peers whose X-Forwarded-* and Forwarded headers are believed (none by
  // default); from every other peer they are removed (vassal/forwarded.hpp).
  AddressSet forwarded_allow_ips;
  bool forwarded_host = false;  // HTTP_HOST follows X-Forwarded-Host / Forwarded host=
  // Peers served on the uwsgi listeners, whose CGI variables are taken as sent.
  AddressSet uwsgi_allow_ips = AddressSet::loopback_and_unix();
};

struct LifetimeConfig {
  Duration max_worker_lifetime = std::chrono::hours(1);  // 0 = never
  std::uint64_t max_requests = 0;                        // 0 = unlimited
  std::uint64_t max_rss = 0;                             // bytes; 0 = unlimited
  Duration harakiri{0};                                  // 0 = off
  Duration graceful_timeout = std::chrono::seconds(30);
  Duration ready_timeout = std::chrono::seconds(60);     // a new worker must be serving by then
};

struct SpoolerConfig {
  std::string dir;         // a directory (absolute after loading) or "redis://..."; empty = no spooler
  int processes = 1;        // 0: this vassal only enqueues (suzerain.spool)
  std::string handler;     // "tasks:handle"; required when processes > 0
  int max_attempts = 5;
  Duration retry_delay = std::chrono::seconds(5);  // before the 2nd attempt; doubles each time, at most an hour
  std::uint64_t max_jobs = 0;  // per spooler process; 0 = unlimited
  Duration max_lifetime{0};    // per spooler process; 0 = never
  Duration harakiri{0};        // one job; 0 = off
  Duration visibility_timeout = std::chrono::seconds(60);  // Redis: a claim its vassal stops renewing goes back
};

struct StatsConfig {
  std::optional<ListenAddress> listen;
};

struct VassalSection {
  std::string name;  // default: the file name without .toml
  std::string uid;   // user name or number; empty = don't change
  std::string gid;
  std::filesystem::path env_file;  // KEY=VALUE lines (core/env_file.hpp); empty: none
};

struct VassalConfig {
  std::filesystem::path file;  // absolute path of the TOML file
  VassalSection vassal;
  AppConfig app;
  std::vector<MountConfig> mounts;
  ServerConfig server;
  LifetimeConfig lifetime;
  SpoolerConfig spooler;
  StatsConfig stats;
  LogOptions log;
  // [log] access: "" (off), "stderr", "stdout" or a file (absolute after loading).
  std::string access_log;
  AccessFormat access_format = *AccessFormat::parse("combined");
  // The app's environment: env_file's variables, then [env]'s over them.
  // Set in the master before CPython starts; never logged.
  std::vector<std::pair<std::string, std::string>> env;
};

// One problem in a config file, positioned like a compiler diagnostic:
// "hello.toml:12:11: [server] workers: expected an integer, got a string".
struct ConfigIssue {
  std::string file;
  int line = 0;    // 1-based; 0 when the file could not be read at all
  int column = 0;
  std::string key; // "[server] workers"; empty for syntax errors
  std::string message;
  std::size_t not_shown = 0;  // set on the last one when problems past kMaxConfigIssues were dropped

  // Escaped for a terminal or a log: control bytes in a name or a value
  // come out as \xNN.
  std::string str() const;
};

// Every issue found, not just the first: users fix a file in one pass. But
// not without end: a binary file would make one per line.
inline constexpr std::size_t kMaxConfigIssues = 50;
using ConfigResult = Result<VassalConfig, std::vector<ConfigIssue>>;
// Every problem found, those dropped past kMaxConfigIssues included.
std::size_t problem_count(const std::vector<ConfigIssue>& issues);

// The longest string value (a path, a module, a URL) a vassal file may hold.
inline constexpr std::size_t kMaxConfigString = 4096;

ConfigResult load_vassal_config(const std::filesystem::path& file);
// For tests and tools: parse text as if it were the contents of `file`.
ConfigResult parse_vassal_config(std::string_view text, const std::filesystem::path& file);

}  // namespace suz
