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

}  // namespace
}  // namespace suz::test
