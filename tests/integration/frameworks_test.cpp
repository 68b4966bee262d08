// Real frameworks from Debian's packages, moved over by writing one TOML file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

TEST(Flask, routes_form_posts_and_streamed_responses_work) {
  VassalUnderTest v(R"(
[app]
module = "flask_app:app"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 2
threads = 2
)", 2);
  auto index = http_get(v.http_port(), "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "flask index");

  auto hello = http_get(v.http_port(), "/hello/world?x=1");
  ASSERT_TRUE(hello);
  EXPECT_EQ(nlohmann::json::parse(hello->body),
            nlohmann::json::parse(R"({"greeting":"hello world","args":{"x":"1"}})"));

  HttpClient c(v.http_port());
  std::string form = "name=Ada+Lovelace&lang=en";
  c.send("POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
         std::to_string(form.size()) + "\r\n\r\n" + form);
  auto posted = c.receive();
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->body, "name=Ada Lovelace;count=2");

  c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  auto streamed = c.receive();
  ASSERT_TRUE(streamed);
  EXPECT_TRUE(streamed->chunked);
  EXPECT_EQ(streamed->body, "part 0;part 1;part 2;");

  auto missing = http_get(v.http_port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(Django, a_project_serves_its_view) {
  VassalUnderTest v(R"(
[app]
module = "django_site.wsgi:application"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
)");
  auto r = http_get(v.http_port(), "/view/suzerain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body),
            nlohmann::json::parse(R"({"view":"django","name":"suzerain","method":"GET","script_name":""})"));
}

}  // namespace
}  // namespace suz::test
