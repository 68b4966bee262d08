// emperor: keeps one vassal running per TOML file in a directory.
//   emperor --vassals DIR            run
//   emperor status [--json] ...      ask a running emperor
//   emperor reload|stop|start NAME   command it (emperor/control.hpp)
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "emperor/emperor.hpp"
#include "emperor/control_server.hpp"

namespace fs = std::filesystem;

namespace {

// The vassal program installed beside this one.
std::string sibling_program(const char* name) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()) / name;
}

double seconds_of(const std::string& text, const char* option) {
  auto d = suz::parse_duration(text);
  if (!d) throw CLI::ValidationError(option, d.error());
  return suz::to_seconds(*d);
}

fs::path status_path(const std::string& socket, const std::string& dir) {
  return socket.empty() ? fs::absolute(dir) / ".emperor.sock" : fs::path(socket);
}

int print_status(const fs::path& path, bool as_json) {
  std::string doc;
  try {
    doc = suz::ask_emperor(path, suz::control::Request{});
  } catch (const std::exception& e) {
    std::cerr << "emperor status: " << e.what() << "\n";
    return suz::to_int(suz::ExitCode::kFailure);
  }
  if (as_json) {
    std::cout << doc;
    return 0;
  }
  auto status = nlohmann::json::parse(doc, nullptr, false);
  if (status.is_discarded()) {
    std::cerr << "emperor status: not a status document from " << path << "\n";
    return suz::to_int(suz::ExitCode::kFailure);
  }
  std::printf("%-20s %-10s %8s %10s %8s  %-28s %s\n", "VASSAL", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT",
              "CONFIG");
  for (const auto& v : status["vassals"]) {
    double up = v["uptime_seconds"].get<double>();
    std::string uptime = v["pid"].get<int>() ? suz::format_duration(suz::Duration(static_cast<long>(up * 1000))) : "-";
    std::string last = v["last_exit"].get<std::string>();
    std::printf("%-20s %-10s %8d %10s %8d  %-28s %s\n", v["name"].get<std::string>().c_str(),
                v["state"].get<std::string>().c_str(), v["pid"].get<int>(), uptime.c_str(), v["restarts"].get<int>(),
                last.empty() ? "-" : last.c_str(), v["config"].get<std::string>().c_str());
  }
  return 0;
}

// A command's answer: its message on stdout and 0, or its error on stderr.
int run_command(const fs::path& path, const suz::control::Request& request) {
  std::string what = "emperor " + std::string(suz::control::verb_name(request.verb));
  std::string doc;
  try {
    doc = suz::ask_emperor(path, request);
  } catch (const std::exception& e) {
    std::cerr << what << ": " << e.what() << "\n";
    return suz::to_int(suz::ExitCode::kFailure);
  }
  auto answer = nlohmann::json::parse(doc, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("ok")) {
    std::cerr << what << ": not an answer from an emperor at " << path << "\n";
    return suz::to_int(suz::ExitCode::kFailure);
  }
  if (!answer["ok"].get<bool>()) {
    std::cerr << what << ": " << answer.value("error", std::string("failed")) << "\n";
    return suz::to_int(suz::ExitCode::kFailure);
  }
  std::cout << answer.value("vassal", std::string()) << ": " << answer.value("message", std::string()) << "\n";
  return 0;
}

// Where the subcommands find the emperor: --vassals DIR or --socket PATH.
struct Target {
  std::string dir, socket;
  void add_to(CLI::App* sub) {
    sub->add_option("--vassals", dir, "The emperor's vassal directory")->check(CLI::ExistingDirectory);
    sub->add_option("--socket", socket, "The emperor's status socket (instead of --vassals)");
  }
  void check() const {
    if (dir.empty() && socket.empty()) throw CLI::RequiredError("--vassals or --socket");
  }
  fs::path path() const { return status_path(socket, dir); }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Watches a directory of vassal files (*.toml) and keeps one vassal running per file:\n"
               "a new file starts its vassal, a changed or touched one reloads it without dropping a request,\n"
               "a removed one stops it. Signals: TERM stops every vassal gracefully (a second TERM, INT or QUIT\n"
               "quickly), HUP reloads them all, USR1 has every master reopen its logs; any other signal is\n"
               "ignored (logged once)."};
  cli.set_version_flag("-V,--version", std::string("emperor (suzerain) ") + suz::kVersion);
  std::string dir, socket, ready_timeout = "60s", heartbeat_timeout = "30s";
  cli.add_option("--vassals", dir, "Directory of vassal files")->check(CLI::ExistingDirectory);
  cli.add_option("--status-socket", socket, "Where `emperor status` finds this emperor (default: DIR/.emperor.sock)");
  bool tyrant = false;
  cli.add_flag("--tyrant", tyrant,
               "Run each vassal as its file's owner (started as root); refuse root-owned files and ignore [vassal] uid/gid");
  cli.add_option("--ready-timeout", ready_timeout, "Kill a vassal whose workers are not all serving this long after it started")
      ->capture_default_str();
  cli.add_option("--heartbeat-timeout", heartbeat_timeout, "Kill a vassal master silent for this long")->capture_default_str();
  std::string vassal_logs;
  cli.add_option("--vassal-logs", vassal_logs,
                 "Write each vassal's log, stdout and stderr to DIR/NAME.log (reopened on USR1) instead of the emperor's")
      ->check(CLI::ExistingDirectory);
  cli.footer("Example: emperor --vassals /etc/suzerain/vassals\n         emperor status --vassals /etc/suzerain/vassals\n"
             "         emperor reload app --vassals /etc/suzerain/vassals");

  Target target;
  CLI::App* status = cli.add_subcommand("status", "Show every vassal of a running emperor: state, pid, uptime, restarts");
  bool as_json = false;
  target.add_to(status);
  status->add_flag("--json", as_json, "The status document as JSON");
  // The commands, each answered once its outcome is known.
  struct Command {
    suz::control::Verb verb;
    const char* help;
    CLI::App* app = nullptr;
  };
  std::vector<Command> commands = {
      {suz::control::Verb::kReload,
       "Reload one vassal: a new master loads its file and takes over once serving; fails, with the old master still "
       "serving, if the new one does not"},
      {suz::control::Verb::kStop,
       "Stop one vassal and keep it stopped (file changes included) until `emperor start NAME` or the emperor restarts"},
      {suz::control::Verb::kStart, "Start a vassal stopped by `emperor stop` (or one waiting in backoff, at once)"},
  };
  std::string vassal_name;
  for (Command& c : commands) {
    c.app = cli.add_subcommand(std::string(suz::control::verb_name(c.verb)), c.help);
    c.app->add_option("NAME", vassal_name, "The vassal: its [vassal] name, its file's stem, or its file name")->required();
    target.add_to(c.app);
  }
  auto command_parsed = [&]() -> const Command* {
    for (const Command& c : commands)
      if (c.app->parsed()) return &c;
    return nullptr;
  };

  suz::EmperorOptions options;
  try {
    cli.parse(argc, argv);
    if (status->parsed() || command_parsed()) {
      target.check();
    } else {
      if (dir.empty()) throw CLI::RequiredError("--vassals");
      options.ready_timeout = seconds_of(ready_timeout, "--ready-timeout");
      options.heartbeat_timeout = seconds_of(heartbeat_timeout, "--heartbeat-timeout");
    }
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }
  if (status->parsed()) return print_status(target.path(), as_json);
  if (const Command* c = command_parsed()) return run_command(target.path(), suz::control::Request{c->verb, vassal_name});

  options.dir = fs::absolute(dir);
  options.status_socket = socket;
  options.tyrant = tyrant;
  if (!vassal_logs.empty()) options.vassal_logs = fs::absolute(vassal_logs);
  options.vassal_program = sibling_program("vassal");
  suz::init_logging("emperor");
  suz::Emperor emperor(options);
  return suz::to_int(emperor.run());
}
