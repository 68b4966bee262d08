#pragma once
// Runs wrk (Debian's package) against a local port and reads its summary:
// the load generator the issues' targets are stated in.
#include <optional>
#include <string>

namespace suz::test {

struct WrkResult {
  long requests = 0;
  long socket_errors = 0;  // connect + read + write + timeout
  long non_2xx = 0;        // wrk counts 3xx as fine, and so do we
  double p99_ms = 0;
  std::string output;      // wrk's own report, for failure messages
};

// wrk -t2 -cCONNECTIONS -dSECONDS --latency --timeout 10s http://127.0.0.1:PORT/
// (a response slower than 10 s on a loaded CI machine is a timeout error).
// nullopt if wrk could not run.
std::optional<WrkResult> run_wrk(int port, int seconds, int connections = 20);

}  // namespace suz::test
