// spooler: enqueue and inspect jobs of a vassal's spool from the shell.
#include <CLI/CLI.hpp>

#include <iostream>

#include "core/exit_code.hpp"
#include "core/version.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"Enqueues and inspects jobs in a Suzerain spool (a directory or a redis:// URL)."};
  cli.set_version_flag("-V,--version", std::string("spooler (suzerain) ") + suz::kVersion);
  cli.require_subcommand(1);
  for (auto [name, help] : {std::pair{"push", "Enqueue a job: spooler push DIR key=value... [--body FILE|-]"},
                            std::pair{"ls", "List queued (or --failed) jobs"},
                            std::pair{"show", "Show one job"},
                            std::pair{"retry", "Requeue a failed job, or --all-failed"},
                            std::pair{"rm", "Remove a job"},
                            std::pair{"stats", "Count jobs by state"}}) {
    cli.add_subcommand(name, help)->allow_extras();
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(suz::ExitCode::kUsage);
  }
  std::cerr << "spooler: " << cli.get_subcommands().front()->get_name()
            << ": not implemented yet (issue 6)\n";
  return suz::to_int(suz::ExitCode::kFailure);
}
