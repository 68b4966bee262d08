#pragma once
// Logging, configured once per process. Every line names the process and
// the object it is about:
//   2026-11-22 07:30:01.123 info     emperor (pid 100): vassal hello.toml: started (pid 123)
//   {"time":"2026-11-22T07:30:01.123Z","level":"info","process":"vassal hello: worker 3","pid":140,"msg":"..."}
// Call sites use spdlog::info(...) and friends on the default logger.
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace suz {

class ForkHooks;

enum class LogFormat { kText, kJson };

struct LogOptions {
  LogFormat format = LogFormat::kText;
  std::string level = "info";  // trace, debug, info, warning, error, critical, off
  std::string file;            // empty: stderr
  // The file is also this process's stdout and stderr (what the app prints,
  // the request log to "stderr"), reopened with it: an emperor's
  // --vassal-logs.
  bool captures_output = false;
};

// The variable by which an emperor started with --vassal-logs names each
// master's log file (the file's name is the vassal's).
inline constexpr const char* kVassalLogVariable = "SUZERAIN_VASSAL_LOG";

Result<LogFormat> parse_log_format(std::string_view text);
// True when text is a level name spdlog knows ("warning", "warn", ...).
bool is_log_level(std::string_view text);

// Installs the default logger. May be called again to apply new options.
void init_logging(std::string process_label, const LogOptions& options = {});

// Renames this process in its log lines (a forked worker: "vassal hello: worker 3").
void set_process_label(std::string label);

// A name or a value from outside (a file name, a config value, a request
// path) made safe to log: control bytes and DEL as \xNN, so an escape
// sequence in a file name cannot reach the operator's terminal.
std::string escaped(std::string_view text);

// Reopens the log file (SIGUSR1).
void reopen_log();

// Holds the sink's lock across every fork so a child never inherits it held
// by a thread that does not exist in the child; refreshes the pid in the child.
void register_log_fork_hooks(ForkHooks& hooks);

}  // namespace suz
