// emperor: keeps one vassal running per TOML file in a directory.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/version.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App cli{"Watches a directory of vassal files (*.toml) and keeps one vassal running per file."};
  cli.set_version_flag("-V,--version", std::string("emperor (suzerain) ") + suz::kVersion);
  std::string dir;
  cli.add_option("--vassals", dir, "Directory of vassal files")->required()->check(CLI::ExistingDirectory);
  cli.footer("Example: emperor --vassals /etc/suzerain/vassals");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }

  suz::init_logging("emperor");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    auto config = suz::load_vassal_config(file);
    if (config) {
      spdlog::info("vassal {}: valid", file.filename().string());
    } else {
      for (const auto& issue : config.error()) spdlog::error("vassal {}: {}", file.filename().string(), issue.str());
    }
  }
  spdlog::warn("starting vassals is not implemented yet (issues 3 and 5); checked {} vassal file(s) in {}",
               files.size(), dir);
  return suz::to_int(suz::ExitCode::kFailure);
}
