// Several apps in one vassal, mounted on URL prefixes, each in its own
// sub-interpreter: module globals and threads started at import stay apart.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

nlohmann::json get_json(int port, const std::string& path) {
  auto r = http_get(port, path);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(r ? r->status : 0, 200) << (r ? r->body : "");
  return nlohmann::json::parse(r ? r->body : "{}");
}

TEST(Isolation, two_isolated_apps_that_write_the_same_global_do_not_see_each_other) {
  VassalUnderTest v(R"(
[server]
http = ["127.0.0.1:0"]
workers = 2
threads = 2
[app]
chdir = "@APPS@"
[[mount]]
path = "/a"
module = "isolated_a"
interpreter = "isolated"
[[mount]]
path = "/b"
module = "isolated_b"
interpreter = "isolated"
)", 2);
  for (int i = 0; i < 4; ++i) {  // both workers, both threads, repeatedly
    auto a = get_json(v.http_port(), "/a/some/path");
    auto b = get_json(v.http_port(), "/b");
    EXPECT_EQ(a["value"], "a");
    EXPECT_EQ(b["value"], "b");
    EXPECT_EQ(a["script_name"], "/a");
    EXPECT_EQ(a["path_info"], "/some/path");
    EXPECT_EQ(b["script_name"], "/b");
    EXPECT_EQ(b["path_info"], "");
    // Each interpreter's threading module sees only its own ticker thread.
    auto names = a["threads"].dump();
    EXPECT_NE(names.find("ticker-a"), std::string::npos) << names;
    EXPECT_EQ(names.find("ticker-b"), std::string::npos) << names;
    EXPECT_GT(a["ticks"].get<int>(), 0) << "the thread started at import runs in the worker";
  }
}

TEST(Isolation, the_same_apps_in_the_main_interpreter_do_share_globals) {
  // The control: without isolation the second import overwrites the first
  // app's global, which is exactly what isolation prevents.
  VassalUnderTest v(R"(
[server]
http = ["127.0.0.1:0"]
workers = 1
[app]
chdir = "@APPS@"
[[mount]]
path = "/a"
module = "isolated_a"
[[mount]]
path = "/b"
module = "isolated_b"
)");
  EXPECT_EQ(get_json(v.http_port(), "/a")["value"], "b");
}

TEST(Isolation, unmatched_paths_are_a_404_from_the_server) {
  VassalUnderTest v(R"(
[server]
http = ["127.0.0.1:0"]
workers = 1
[app]
chdir = "@APPS@"
[[mount]]
path = "/a"
module = "isolated_a"
interpreter = "isolated"
)");
  auto r = http_get(v.http_port(), "/ab");  // "/ab" is not under "/a"
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace suz::test
