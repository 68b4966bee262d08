// emperor: keeps one vassal running per TOML file in a directory.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "emperor/emperor.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Watches a directory of vassal files (*.toml) and keeps one vassal running per file:\n"
               "a new file starts its vassal, a changed or touched one reloads it without dropping a request,\n"
               "a removed one stops it. Signals: TERM stops every vassal gracefully (a second TERM, INT or QUIT\n"
               "quickly), HUP reloads them all."};
  cli.set_version_flag("-V,--version", std::string("emperor (suzerain) ") + suz::kVersion);
  std::string dir, ready_timeout = "60s", heartbeat_timeout = "30s";
  cli.add_option("--vassals", dir, "Directory of vassal files")->required()->check(CLI::ExistingDirectory);
  cli.add_option("--ready-timeout", ready_timeout, "Kill a vassal whose workers are not all serving this long after it started")
      ->capture_default_str();
  cli.add_option("--heartbeat-timeout", heartbeat_timeout, "Kill a vassal master silent for this long")->capture_default_str();
  cli.footer("Example: emperor --vassals /etc/suzerain/vassals");
  suz::EmperorOptions options;
  try {
    cli.parse(argc, argv);
    options.ready_timeout = seconds_of(ready_timeout, "--ready-timeout");
    options.heartbeat_timeout = seconds_of(heartbeat_timeout, "--heartbeat-timeout");
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }
  options.dir = fs::absolute(dir);
  options.vassal_program = sibling_program("vassal");

  suz::init_logging("emperor");
  suz::Emperor emperor(options);
  return suz::to_int(emperor.run());
}
