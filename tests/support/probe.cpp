#include "tests/support/probe.hpp"

#include <memory>

#include "tests/support/http_client.hpp"

namespace suz::test {

Probe::Probe(int port, std::string path, bool keep_alive)
    : port_(port), path_(std::move(path)), keep_alive_(keep_alive), thread_([this] { loop(); }) {}

Probe::~Probe() { stop(); }

void Probe::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<Probe::Interval> Probe::failed_intervals() {
  std::lock_guard<std::mutex> lock(mutex_);
  return intervals_;
}

std::vector<std::string> Probe::failures() {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

void Probe::loop() {
  std::unique_ptr<HttpClient> client;
  while (!stop_) {
    std::string why;
    auto sent = std::chrono::steady_clock::now();
    try {
      if (!client) client = std::make_unique<HttpClient>(port_);
      client->send("GET " + path_ + " HTTP/1.1\r\nHost: probe\r\n" +
                   std::string(keep_alive_ ? "" : "Connection: close\r\n") + "\r\n");
      auto r = client->receive(std::chrono::seconds(10));
      if (!r) why = "no response";
      else if (r->status != 200) why = "status " + std::to_string(r->status);
      // Reconnect only when the server said it would close: anything else
      // that breaks the connection is a failure the next request reveals.
      if (!r || !r->keep_alive) client.reset();
    } catch (const std::exception& e) {
      why = e.what();
      client.reset();
    }
    if (why.empty()) {
      ++ok_;
    } else {
      ++failed_;
      std::lock_guard<std::mutex> lock(mutex_);
      if (failures_.size() < 10) failures_.push_back(why);
      intervals_.push_back({sent, std::chrono::steady_clock::now()});
    }
  }
}

}  // namespace suz::test
