// vassal: one app's master process. `vassal FILE` serves the app described
// by FILE; `vassal --check FILE` only validates it.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <iostream>

#include "core/config.hpp"
#include "core/fork.hpp"
#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/process_title.hpp"
#include "core/signals.hpp"
#include "core/version.hpp"
#include "plugins/python/plugin.hpp"
#include "plugins/python/version.hpp"
#include "vassal/master.hpp"

namespace {

// The file, then its app imported as the master would (with [env], in its
// chdir): a module that does not import, or an ASGI app given as WSGI and
// the reverse, is found before a deploy rather than by the new master.
int check(const suz::ConfigResult& config, const std::string& file) {
  if (!config) {
    for (const suz::ConfigIssue& issue : config.error()) std::cerr << issue.str() << "\n";
    std::size_t problems = suz::problem_count(config.error());
    std::cerr << suz::escaped(file) << ": " << problems << " problem" << (problems == 1 ? "" : "s") << "\n";
    return suz::to_int(suz::ExitCode::kConfigInvalid);
  }
  for (const auto& [name, value] : config->env) ::setenv(name.c_str(), value.c_str(), 1);
  spdlog::set_level(spdlog::level::warn);  // "loaded ..." is for a running master's log
  try {
    suz::python::PythonPlugin plugin(*config);
    plugin.load_in_master();
  } catch (const suz::AppLoadError& e) {
    std::cerr << suz::escaped(file) << ": cannot load the app: " << e.what() << "\n";
    return suz::to_int(suz::ExitCode::kAppLoadError);
  }
  std::cout << suz::escaped(file) << ": ok (vassal " << suz::escaped(config->vassal.name) << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // From the start: a stray signal while the app imports must not end the master.
  suz::catch_stray_signals(suz::kMasterSignals);
  suz::init_process_title(argc, argv);
  CLI::App cli{"Runs one Python WSGI app: a master that loads the app once and forks workers and spoolers."};
  cli.set_version_flag("-V,--version", std::string("vassal (suzerain) ") + suz::kVersion +
                                           ", CPython " + suz::python::build_version());
  std::string file;
  bool check_only = false;
  cli.add_option("FILE", file, "The vassal's TOML file")->required();
  cli.add_flag("--check", check_only,
               "Validate FILE and import its app as the master would, then exit: 0 if both work, 5 if the file "
               "is invalid, 4 if the app cannot be loaded (problems on stderr)");
  cli.footer("Signals to the master: TERM graceful stop, INT or QUIT quick stop, HUP reload (a new master\n"
             "loads the new code and config and takes over once serving), USR2 replace every worker from\n"
             "this master, TTIN/TTOU one worker more/less, USR1 reopen logs; any other is ignored (logged once).\n"
             "Example: vassal configs/vassals/hello.toml");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }

  suz::ConfigResult config = suz::load_vassal_config(file);
  if (check_only) return check(config, file);

  suz::init_logging("vassal");
  if (!config) {
    for (const suz::ConfigIssue& issue : config.error()) spdlog::critical("{}", issue.str());
    return suz::to_int(suz::ExitCode::kConfigInvalid);
  }
  // What a reload's new master starts from: this binary (a deploy may have
  // replaced it at that path) and the environment before [env] and the app.
  suz::MasterOrigin origin;
  std::error_code ec;
  origin.program = std::filesystem::canonical("/proc/self/exe", ec).string();
  if (ec) origin.program = argv[0];
  for (char** e = environ; e && *e; ++e) origin.environment.emplace_back(*e);
  // The app's environment, before CPython starts: os.environ and the
  // interpreter's own PYTHON* variables see it, and so does every worker.
  for (const auto& [name, value] : config->env) ::setenv(name.c_str(), value.c_str(), 1);
  suz::LogOptions log = config->log;
  if (const char* file = std::getenv(suz::kVassalLogVariable); file && *file && log.file.empty()) {
    log.file = file;  // the emperor's --vassal-logs: everything this vassal writes
    log.captures_output = true;
  }
  ::unsetenv(suz::kVassalLogVariable);  // not for the app's own subprocesses
  try {
    suz::init_logging("vassal " + config->vassal.name, log);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return suz::to_int(suz::ExitCode::kBootError);
  }
  suz::set_process_title("vassal " + config->vassal.name + ": master");

  // Logging's fork hooks go first: the Python hooks, registered later, run
  // their before-hook first and may log while the sinks are still usable.
  suz::ForkHooks hooks;
  suz::register_log_fork_hooks(hooks);
  suz::python::PythonPlugin plugin(*config);
  suz::Master master(*config, plugin, hooks, std::move(origin));
  return suz::to_int(master.run());
}
