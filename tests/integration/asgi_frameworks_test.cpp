// Real ASGI frameworks from Debian's packages (Starlette, FastAPI, Django's
// ASGI handler, Quart) on the real vassal, moved over by one TOML file.
// Debian's packages are for its own CPython: skipped under another.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool has_module(const std::string& module) {
  return run({SUZERAIN_TEST_PYTHON, "-c", "import " + module}).exit_code() == 0;
}

std::string asgi_vassal(const std::string& module, const std::string& more = "") {
  return "[app]\nmodule = \"" + module + "\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n" + more +
         "[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 2\n";
}

std::optional<HttpResponse> request(int port, const std::string& raw) {
  HttpClient c(port);
  c.send(raw);
  return c.receive();
}

std::optional<HttpResponse> post(int port, const std::string& path, const std::string& type, const std::string& body) {
  return request(port, "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

// Polls path until its JSON body contains value (background work lands
// after its response).
bool eventually_contains(int port, const std::string& path, const std::string& value) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    for (int worker = 0; worker < 4; ++worker) {  // two workers: either may have run it
      auto r = http_get(port, path);
      if (r && r->body.find("\"" + value + "\"") != std::string::npos) return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(Starlette, routes_json_streaming_background_tasks_mounts_and_lifespan_state) {
  if (!has_module("starlette")) GTEST_SKIP() << "no Starlette for this CPython";
  VassalUnderTest v(asgi_vassal("asgi_starlette:app"), 2);
  auto index = http_get(v.http_port(), "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "starlette index, state from lifespan");

  auto item = http_get(v.http_port(), "/items/42?q=find");
  ASSERT_TRUE(item);
  EXPECT_EQ(json::parse(item->body), json::parse(R"({"id":42,"q":"find"})"));
  auto not_an_int = http_get(v.http_port(), "/items/x");
  ASSERT_TRUE(not_an_int);
  EXPECT_EQ(not_an_int->status, 404);

  auto echo = post(v.http_port(), "/echo", "application/json", R"({"a":[1,2,{"b":null}]})");
  ASSERT_TRUE(echo);
  EXPECT_EQ(json::parse(echo->body), json::parse(R"({"got":{"a":[1,2,{"b":null}]}})"));

  auto streamed = http_get(v.http_port(), "/stream");
  ASSERT_TRUE(streamed);
  EXPECT_TRUE(streamed->chunked);
  EXPECT_EQ(streamed->body, "part 0;part 1;part 2;");

  auto later = http_get(v.http_port(), "/later?tag=after-the-response");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->body, "answered");
  EXPECT_TRUE(eventually_contains(v.http_port(), "/background", "after-the-response"));

  auto where = request(v.http_port(), "GET /sub/where HTTP/1.1\r\nHost: shop.test\r\n\r\n");
  ASSERT_TRUE(where);
  auto w = json::parse(where->body);
  EXPECT_EQ(w["root_path"], "/sub");
  EXPECT_EQ(w["path"], "/where");
  EXPECT_EQ(w["url"], "http://shop.test/sub/where");
}

TEST(FastApi, typed_parameters_models_forms_streaming_background_tasks_and_startup) {
  if (!has_module("fastapi") || !has_module("multipart")) GTEST_SKIP() << "no FastAPI for this CPython";
  VassalUnderTest v(asgi_vassal("asgi_fastapi:app"), 2);
  auto index = http_get(v.http_port(), "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(json::parse(index->body), json::parse(R"({"framework":"fastapi","ready":"yes"})"));

  auto item = http_get(v.http_port(), "/items/7?q=x");
  ASSERT_TRUE(item);
  EXPECT_EQ(json::parse(item->body), json::parse(R"({"item_id":7,"q":"x"})"));
  auto invalid = http_get(v.http_port(), "/items/seven");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 422);

  auto created = post(v.http_port(), "/items", "application/json", R"({"name":"tea","price":2.5})");
  ASSERT_TRUE(created);
  EXPECT_EQ(json::parse(created->body), json::parse(R"({"name":"tea","price_with_tax":3.0})"));
  auto bad_model = post(v.http_port(), "/items", "application/json", R"({"name":"tea"})");
  ASSERT_TRUE(bad_model);
  EXPECT_EQ(bad_model->status, 422);

  auto login = post(v.http_port(), "/login", "application/x-www-form-urlencoded", "username=ada&password=s3cret");
  ASSERT_TRUE(login);
  EXPECT_EQ(json::parse(login->body), json::parse(R"({"username":"ada","password_length":6})"));

  auto streamed = http_get(v.http_port(), "/stream");
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->body, "chunk 0;chunk 1;chunk 2;");

  auto later = post(v.http_port(), "/later?tag=fastapi-bg", "text/plain", "");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200) << later->body;
  EXPECT_TRUE(eventually_contains(v.http_port(), "/background", "fastapi-bg"));
}

TEST(FastApi, the_client_address_comes_from_a_trusted_proxy_as_for_wsgi) {
  if (!has_module("fastapi")) GTEST_SKIP() << "no FastAPI for this CPython";
  VassalUnderTest v("[app]\nmodule = \"asgi_fastapi:app\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n[server]\n"
                    "http = [\"127.0.0.1:0\"]\nworkers = 1\nforwarded_allow_ips = [\"127.0.0.1\"]\n");
  auto r = request(v.http_port(), "GET /client HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\n"
                                  "X-Forwarded-Proto: https\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"host":"203.0.113.9","scheme":"https"})"));
}

TEST(DjangoAsgi, the_asgi_handler_serves_the_view) {
  if (!has_module("django")) GTEST_SKIP() << "no Django for this CPython";
  VassalUnderTest v(asgi_vassal("django_site.asgi:application"), 2);
  auto r = http_get(v.http_port(), "/view/async");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body << v.process().output();
  EXPECT_EQ(json::parse(r->body)["name"], "async");
  // Django has no lifespan: auto goes on without it.
  EXPECT_TRUE(v.process().wait_for_line("does not support the ASGI lifespan protocol", 10s));
}

TEST(Quart, routes_query_and_form) {
  if (!has_module("quart")) GTEST_SKIP() << "no Quart for this CPython";
  VassalUnderTest v(asgi_vassal("asgi_quart:app"), 2);
  auto index = http_get(v.http_port(), "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "quart index");
  auto hello = post(v.http_port(), "/hello/world?x=1", "application/x-www-form-urlencoded", "lang=en");
  ASSERT_TRUE(hello);
  EXPECT_EQ(json::parse(hello->body), json::parse(R"({"greeting":"hello world","args":{"x":"1"},"form":{"lang":"en"}})"));
}

}  // namespace
}  // namespace suz::test
