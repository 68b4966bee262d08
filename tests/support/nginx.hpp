#pragma once
// Debian's nginx, started by a test on a free port in front of a vassal:
// the real proxy, in its stock configuration but for what a test puts in
// its server { } block. Stopped and reaped with the object.
#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/spawned.hpp"

namespace suz::test {

class NginxUnderTest {
 public:
  static bool installed();
  // server_block: what goes inside server { }, e.g. a location with uwsgi_pass.
  explicit NginxUnderTest(const std::string& server_block);
  // 0 if nginx did not start listening (its output says why).
  int port() const { return listening_ ? port_ : 0; }
  std::string output() { return process_->output(); }

 private:
  TempDir dir_;
  int port_ = 0;
  bool listening_ = false;
  std::unique_ptr<Spawned> process_;
};

}  // namespace suz::test
