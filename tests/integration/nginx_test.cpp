// nginx (Debian's, started by the test on a free port) in front of a
// vassal's uwsgi listener with an unchanged uwsgi_pass configuration.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/socket.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/spawned.hpp"
#include "tests/support/vassal.hpp"

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
      // not yet listening: nginx is still starting; try again
      std::this_thread::yield();
    }
  }
  return false;
}

TEST(Nginx, uwsgi_pass_reaches_the_app_with_its_cgi_variables_and_body) {
  if (!std::filesystem::exists("/usr/sbin/nginx")) GTEST_SKIP() << "nginx is not installed";
  VassalUnderTest v(R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
uwsgi = ["127.0.0.1:0"]
workers = 2
)", 2);
  TempDir dir;
  int port = free_port();
  std::string d = dir.path().string();
  auto conf = dir.write("nginx.conf", R"(
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
    listen 127.0.0.1:)" + std::to_string(port) + R"(;
    location / {
      include /etc/nginx/uwsgi_params;
      uwsgi_pass 127.0.0.1:)" + std::to_string(v.uwsgi_port()) + R"(;
    }
  }
}
)");
  Spawned nginx({"/usr/sbin/nginx", "-c", conf.string(), "-p", d});
  ASSERT_TRUE(wait_for_port(port, 10s)) << nginx.output();

  auto env = http_get(port, "/environ?q=1");
  ASSERT_TRUE(env);
  ASSERT_EQ(env->status, 200) << env->body;
  auto j = nlohmann::json::parse(env->body);
  EXPECT_EQ(j["PATH_INFO"], "/environ");
  EXPECT_EQ(j["QUERY_STRING"], "q=1");
  EXPECT_EQ(j["REQUEST_METHOD"], "GET");
  EXPECT_EQ(j["SERVER_PORT"], std::to_string(port));
  EXPECT_EQ(j["REMOTE_ADDR"], "127.0.0.1");

  HttpClient c(port);
  std::string body(100000, 'z');
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto echoed = c.receive();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->status, 200) << v.process().output();
  EXPECT_EQ(echoed->body.size(), body.size());
  EXPECT_TRUE(echoed->body == body) << "the echoed body differs";

  auto streamed = http_get(port, "/stream");
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
}

}  // namespace
}  // namespace suz::test
