// vassal: one app's master process. `vassal FILE` serves the app described
// by FILE; `vassal --check FILE` only validates it.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/version.hpp"
#include "plugins/python/version.hpp"

namespace {

int check(const suz::ConfigResult& config, const std::string& file) {
  if (!config) {
    for (const suz::ConfigIssue& issue : config.error()) std::cerr << issue.str() << "\n";
    std::cerr << file << ": " << config.error().size() << " problem"
              << (config.error().size() == 1 ? "" : "s") << "\n";
    return suz::to_int(suz::ExitCode::kConfigInvalid);
  }
  std::cout << file << ": ok (vassal " << config->vassal.name << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Runs one Python WSGI app: a master that loads the app once and forks workers and spoolers."};
  cli.set_version_flag("-V,--version", std::string("vassal (suzerain) ") + suz::kVersion +
                                           ", CPython " + suz::python::build_version());
  std::string file;
  bool check_only = false;
  cli.add_option("FILE", file, "The vassal's TOML file")->required();
  cli.add_flag("--check", check_only, "Validate FILE and exit: 0 if valid, 5 if not (problems on stderr)");
  cli.footer("Example: vassal configs/vassals/hello.toml");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }

  suz::ConfigResult config = suz::load_vassal_config(file);
  if (check_only) return check(config, file);

  suz::init_logging("vassal");
  if (!config) {
    for (const suz::ConfigIssue& issue : config.error()) spdlog::error("{}", issue.str());
    return suz::to_int(suz::ExitCode::kConfigInvalid);
  }
  suz::init_logging("vassal " + config->vassal.name, config->log);
  spdlog::error("serving apps is not implemented yet (issue 3); the config is valid");
  return suz::to_int(suz::ExitCode::kFailure);
}
