// nginx (Debian's, started by the test on a free port) in front of a
// vassal's uwsgi listener with an unchanged uwsgi_pass configuration.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/nginx.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

TEST(Nginx, uwsgi_pass_reaches_the_app_with_its_cgi_variables_and_body) {
  if (!NginxUnderTest::installed()) GTEST_SKIP() << "nginx is not installed";
  VassalUnderTest v(R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
uwsgi = ["127.0.0.1:0"]
workers = 2
)", 2);
  NginxUnderTest nginx(R"(
    location / {
      include /etc/nginx/uwsgi_params;
      uwsgi_pass 127.0.0.1:)" + std::to_string(v.uwsgi_port()) + R"(;
    })");
  int port = nginx.port();
  ASSERT_NE(port, 0) << nginx.output();

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


// An ASGI app behind nginx, over HTTP (proxy_pass, the client's address
// from a trusted X-Forwarded-For) and over the uwsgi protocol.
TEST(Nginx, an_asgi_app_is_served_through_proxy_pass_and_uwsgi_pass) {
  if (!NginxUnderTest::installed()) GTEST_SKIP() << "nginx is not installed";
  VassalUnderTest v(R"(
[app]
module = "asgi_raw:app"
interface = "asgi"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
uwsgi = ["127.0.0.1:0"]
workers = 2
forwarded_allow_ips = ["127.0.0.1"]
)", 2);
  NginxUnderTest nginx(R"(
    location /u/ {
      include /etc/nginx/uwsgi_params;
      uwsgi_pass 127.0.0.1:)" + std::to_string(v.uwsgi_port()) + R"(;
    }
    location / {
      proxy_pass http://127.0.0.1:)" + std::to_string(v.http_port()) + R"(;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    })");
  int port = nginx.port();
  ASSERT_NE(port, 0) << nginx.output();

  HttpClient c(port);
  c.send("GET /scope?via=http HTTP/1.1\r\nHost: shop.test\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
  auto proxied = c.receive();
  ASSERT_TRUE(proxied);
  ASSERT_EQ(proxied->status, 200) << proxied->body;
  auto s = nlohmann::json::parse(proxied->body);
  EXPECT_EQ(s["client"][0], "203.0.113.7");
  EXPECT_EQ(s["scheme"], "https");
  EXPECT_EQ(s["query_string"], "via=http");

  auto over_uwsgi = http_get(port, "/u/scope?via=uwsgi");
  ASSERT_TRUE(over_uwsgi);
  ASSERT_EQ(over_uwsgi->status, 200) << over_uwsgi->body;
  auto u = nlohmann::json::parse(over_uwsgi->body);
  EXPECT_EQ(u["query_string"], "via=uwsgi");
  EXPECT_EQ(u["method"], "GET");
  EXPECT_EQ(u["client"][0], "127.0.0.1");

  std::string body(300000, 'q');
  c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto posted = c.receive();
  ASSERT_TRUE(posted);
  EXPECT_EQ(nlohmann::json::parse(posted->body)["size"], body.size());
}

}  // namespace
}  // namespace suz::test
