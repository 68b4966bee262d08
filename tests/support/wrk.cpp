#include "tests/support/wrk.hpp"

#include <regex>

#include "tests/support/process.hpp"

namespace suz::test {

std::optional<WrkResult> run_wrk(int port, int seconds, int connections) {
  RunResult r = run({"/usr/bin/wrk", "--latency", "--timeout", "10s", "-t2", "-c" + std::to_string(connections),
                     "-d" + std::to_string(seconds) + "s", "http://127.0.0.1:" + std::to_string(port) + "/"},
                    std::chrono::seconds(seconds + 60));
  if (r.exit_code() != 0) return std::nullopt;
  WrkResult w;
  w.output = r.out;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex(R"((\d+) requests in)"))) return std::nullopt;
  w.requests = std::stol(m[1]);
  if (std::regex_search(r.out, m, std::regex(R"(connect (\d+), read (\d+), write (\d+), timeout (\d+))")))
    w.socket_errors = std::stol(m[1]) + std::stol(m[2]) + std::stol(m[3]) + std::stol(m[4]);
  if (std::regex_search(r.out, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))) w.non_2xx = std::stol(m[1]);
  if (std::regex_search(r.out, m, std::regex(R"(99%\s+([\d.]+)(us|ms|s))"))) {
    double scale = m[2] == "us" ? 1e-3 : m[2] == "ms" ? 1.0 : 1e3;
    w.p99_ms = std::stod(m[1]) * scale;
  }
  return w;
}

}  // namespace suz::test
