#include "tests/support/nginx.hpp"

#include <filesystem>
#include <thread>

#include "core/socket.hpp"

namespace suz::test {
namespace {

int free_port() {
  Fd s = listen_on(parse_listen_address("127.0.0.1:0").value());
  return local_address(s).port;
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  ListenAddress a = parse_listen_address("127.0.0.1:" + std::to_string(port)).value();
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      connect_to(a);
      return true;
    } catch (const std::exception&) {
      std::this_thread::yield();  // nginx is still starting
    }
  }
  return false;
}

}  // namespace

bool NginxUnderTest::installed() { return std::filesystem::exists("/usr/sbin/nginx"); }

NginxUnderTest::NginxUnderTest(const std::string& server_block) : port_(free_port()) {
  std::string d = dir_.path().string();
  auto conf = dir_.write("nginx.conf", R"(
daemon off;
master_process off;
pid )" + d + R"(/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path )" + d + R"(/body;
  uwsgi_temp_path )" + d + R"(/uwsgi;
  proxy_temp_path )" + d + R"(/proxy;
  fastcgi_temp_path )" + d + R"(/fastcgi;
  scgi_temp_path )" + d + R"(/scgi;
  server {
    listen 127.0.0.1:)" + std::to_string(port_) + ";\n" + server_block + R"(
  }
}
)");
  process_ = std::make_unique<Spawned>(std::vector<std::string>{"/usr/sbin/nginx", "-c", conf.string(), "-p", d});
  listening_ = wait_for_port(port_, std::chrono::seconds(10));
}

}  // namespace suz::test
