#include "tests/support/vassal.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace suz::test {

std::string apps_dir() { return (source_dir() / "tests/integration/apps").string(); }

std::string app_config(const std::string& module, int workers, int threads, const std::string& more) {
  return "[app]\nmodule = \"" + module + "\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = " +
         std::to_string(workers) + "\nthreads = " + std::to_string(threads) + "\n" + more;
}

VassalUnderTest::VassalUnderTest(std::string toml, int workers, std::string name, bool discard_stdout) {
  for (std::size_t at; (at = toml.find("@APPS@")) != std::string::npos;) toml.replace(at, 6, apps_dir());
  auto file = dir_.write(name + ".toml", toml);
  process_ = std::make_unique<Spawned>(std::vector<std::string>{program("vassal"), file.string()}, "", discard_stdout);
  // The first TCP listener of each protocol: its port, chosen by the kernel.
  auto port_of = [&](const std::string& protocol) {
    if (toml.find(protocol + " = [\"127.0.0.1:") == std::string::npos && toml.find(protocol + " = [\"[::1]:") == std::string::npos)
      return 0;
    auto m = process_->wait_for_line("listening on [^ ]*:(\\d+) \\(" + protocol + "\\)", 30s);
    return m ? std::stoi((*m)[1]) : 0;
  };
  http_port_ = port_of("http");
  uwsgi_port_ = port_of("uwsgi");
  for (int i = 1; i <= workers; ++i) {
    if (!process_->wait_for_line("worker " + std::to_string(i) + " \\(pid \\d+\\): serving", 30s))
      throw std::runtime_error("worker " + std::to_string(i) + " did not start serving:\n" + process_->output());
  }
}

bool VassalUnderTest::reaches_generation(int id, int generation, std::chrono::milliseconds timeout) {
  std::string worker = "worker " + std::to_string(id);
  auto started = process_->wait_for_line(
      worker + " started \\(pid (\\d+), generation " + std::to_string(generation) + "\\)", timeout);
  return started && process_->wait_for_line(worker + " \\(pid " + (*started)[1] + "\\): serving", timeout);
}

}  // namespace suz::test
