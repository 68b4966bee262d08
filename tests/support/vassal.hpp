#pragma once
// Starts a real `vassal` on a config written into a fresh temp directory.
// Listeners on port 0 get their port from the kernel; the test learns it from
// the "listening on" log line. Waits until every worker logs "serving".
#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/spawned.hpp"

namespace suz::test {

// The directory of the Python test apps (tests/integration/apps).
std::string apps_dir();

// A vassal file serving tests/integration/apps/MODULE over HTTP on a
// kernel-chosen port. `more` follows the [server] keys as is: more [server]
// keys first, then other sections.
std::string app_config(const std::string& module, int workers = 1, int threads = 1, const std::string& more = "");

class VassalUnderTest {
 public:
  // toml: the vassal file's contents; "@APPS@" is replaced by apps_dir().
  explicit VassalUnderTest(std::string toml, int workers = 1, std::string name = "app", bool discard_stdout = false);

  int http_port() const { return http_port_; }
  int uwsgi_port() const { return uwsgi_port_; }
  Spawned& process() { return *process_; }
  // Waits until worker slot `id` has had `generation` processes and the
  // newest one serves.
  bool reaches_generation(int id, int generation, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<Spawned> process_;
  int http_port_ = 0;
  int uwsgi_port_ = 0;
};

}  // namespace suz::test
