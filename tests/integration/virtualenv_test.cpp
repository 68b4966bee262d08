// [app] virtualenv: the app imports what is installed in the virtualenv.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

TEST(Virtualenv, the_app_sees_the_virtualenvs_packages_and_prefix) {
  TempDir dir;
  std::string venv = (dir.path() / "venv").string();
  auto made = run({SUZERAIN_TEST_PYTHON, "-m", "venv", "--without-pip", venv});
  ASSERT_EQ(made.exit_code(), 0) << made.err;
  // A package that exists only inside the virtualenv.
  std::string site;
  for (const auto& e : std::filesystem::recursive_directory_iterator(venv))
    if (e.path().filename() == "site-packages") site = e.path().string();
  ASSERT_FALSE(site.empty());
  dir.write("venv/" + std::filesystem::relative(site, venv).string() + "/only_in_venv.py",
            "WHERE = 'inside the virtualenv'\n");
  dir.write("app/venv_app.py", R"(import json, sys
import only_in_venv

def application(environ, start_response):
    body = json.dumps({"where": only_in_venv.WHERE, "prefix": sys.prefix}).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
)");
  VassalUnderTest v("[app]\nmodule = \"venv_app\"\nchdir = \"" + (dir.path() / "app").string() +
                    "\"\nvirtualenv = \"" + venv + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 1\n");
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["where"], "inside the virtualenv");
  EXPECT_EQ(j["prefix"], venv);
}

TEST(Virtualenv, a_directory_that_is_not_a_virtualenv_is_a_clear_load_error) {
  TempDir dir;
  auto file = dir.write("v.toml", "[app]\nmodule = \"x\"\nvirtualenv = \"" + dir.path().string() +
                                      "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  auto r = run({program("vassal"), file.string()});
  EXPECT_EQ(r.exit_code(), 4) << r.err;
  EXPECT_NE(r.err.find("has no pyvenv.cfg"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace suz::test
