#include "core/log.hpp"

#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <memory>

#include "core/fork.hpp"
#include "core/log_sink.hpp"

namespace suz {
namespace {

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warning";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

void append(spdlog::memory_buf_t& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': append(out, "\\\""); break;
      case '\\': append(out, "\\\\"); break;
      case '\n': append(out, "\\n"); break;
      case '\r': append(out, "\\r"); break;
      case '\t': append(out, "\\t"); break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// Formats lines for one process. The label and pid are fixed per formatter;
// relabelling installs a new formatter (under the sink's lock).
class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(LogFormat format, std::string label, pid_t pid)
      : format_(format), label_(std::move(label)), pid_(pid) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count();
    time_t t = static_cast<time_t>(secs.count());
    struct tm tm {};
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (format_ == LogFormat::kJson) {
      gmtime_r(&t, &tm);
      fmt::format_to(std::back_inserter(out),
                     "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\",\"process\":",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     millis, level_name(msg.level));
      append_json_string(out, label_);
      fmt::format_to(std::back_inserter(out), ",\"pid\":{},\"msg\":", pid_);
      append_json_string(out, text);
      append(out, "}\n");
    } else {
      localtime_r(&t, &tm);
      fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {:<8} {} (pid {}): {}\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     millis, level_name(msg.level), label_, pid_, text);
    }
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_, label_, pid_);
  }

 private:
  LogFormat format_;
  std::string label_;
  pid_t pid_;
};

// Process-wide by nature, like the default logger it feeds: one sink and the
// options it was built with.
struct LogState {
  std::shared_ptr<LogSink> sink;
  LogFormat format = LogFormat::kText;
  std::string label;
};
LogState& state() {
  static LogState s;
  return s;
}

void install_formatter() {
  LogState& s = state();
  s.sink->set_formatter(std::make_unique<LineFormatter>(s.format, s.label, ::getpid()));
}

}  // namespace

Result<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return unexpected("unknown log format \"" + std::string(text) + "\" (expected \"text\" or \"json\")");
}

bool is_log_level(std::string_view text) {
  return text == "off" || spdlog::level::from_str(std::string(text)) != spdlog::level::off;
}

void init_logging(std::string process_label, const LogOptions& options) {
  LogState& s = state();
  s.sink = std::make_shared<LogSink>(options.file, options.captures_output);
  s.format = options.format;
  s.label = std::move(process_label);
  install_formatter();
  auto logger = std::make_shared<spdlog::logger>("suzerain", s.sink);
  logger->set_level(spdlog::level::from_str(options.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void set_process_label(std::string label) {
  state().label = std::move(label);
  install_formatter();
}

std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (ch >= 0x20 && ch != 0x7f) {
      out += static_cast<char>(ch);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[ch >> 4];
      out += kHex[ch & 0xf];
    }
  }
  return out;
}

void reopen_log() {
  if (state().sink) state().sink->reopen();
}

void register_log_fork_hooks(ForkHooks& hooks) {
  hooks.add(ForkHook{
      .owner = "logging",
      .before = [] { if (auto& sink = state().sink) sink->lock_before_forking(); },
      .after_parent = [] { if (auto& sink = state().sink) sink->unlock_after_forking(); },
      .after_child =
          [] {
            if (auto& sink = state().sink) {
              sink->unlock_after_forking();
              install_formatter();  // the child's own pid in its lines
            }
          },
  });
}

}  // namespace suz
