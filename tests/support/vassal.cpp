#include "tests/support/vassal.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace suz::test {

std::string apps_dir() { return (source_dir() / "tests/integration/apps").string(); }

VassalUnderTest::VassalUnderTest(std::string toml, int workers, std::string name) {
  for (std::size_t at; (at = toml.find("@APPS@")) != std::string::npos;) toml.replace(at, 6, apps_dir());
  auto file = dir_.write(name + ".toml", toml);
  process_ = std::make_unique<Spawned>(std::vector<std::string>{program("vassal"), file.string()});
  if (toml.find("http") != std::string::npos) {
    auto m = process_->wait_for_line(R"(listening on [^ ]*:(\d+) \(http\))", 30s);
    if (m) http_port_ = std::stoi((*m)[1]);
  }
  if (toml.find("uwsgi") != std::string::npos) {
    auto m = process_->wait_for_line(R"(listening on [^ ]*:(\d+) \(uwsgi\))", 30s);
    if (m) uwsgi_port_ = std::stoi((*m)[1]);
  }
  for (int i = 1; i <= workers; ++i) {
    if (!process_->wait_for_line("worker " + std::to_string(i) + " \\(pid \\d+\\): serving", 30s))
      throw std::runtime_error("worker " + std::to_string(i) + " did not start serving:\n" + process_->output());
  }
}

}  // namespace suz::test
