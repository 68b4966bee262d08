// The control socket's request lines (emperor/control.hpp).
#include "emperor/control.hpp"

#include <gtest/gtest.h>

namespace suz::control {
namespace {

TEST(Control, request_lines_parse_to_a_verb_and_a_name) {
  struct Case {
    const char* line;
    Verb verb;
    const char* name;
  };
  for (const Case& c : {Case{"", Verb::kStatus, ""}, Case{"status", Verb::kStatus, ""}, Case{"status\r", Verb::kStatus, ""},
                        Case{"reload app", Verb::kReload, "app"}, Case{"  stop  app.toml ", Verb::kStop, "app.toml"},
                        Case{"start\tapi", Verb::kStart, "api"}}) {
    ParseResult r = parse_request(c.line);
    ASSERT_TRUE(r.request) << c.line << ": " << r.error;
    EXPECT_EQ(r.request->verb, c.verb) << c.line;
    EXPECT_EQ(r.request->name, c.name) << c.line;
  }
}

TEST(Control, bad_lines_say_what_is_wrong) {
  struct Case {
    const char* line;
    const char* says;
  };
  for (const Case& c : {Case{"reload", "needs a vassal name"}, Case{"stop a b", "one vassal name"},
                        Case{"status app", "no vassal name"}, Case{"restart app", "unknown command \"restart\""}}) {
    ParseResult r = parse_request(c.line);
    EXPECT_FALSE(r.request) << c.line;
    EXPECT_NE(r.error.find(c.says), std::string::npos) << c.line << ": " << r.error;
  }
}

TEST(Control, what_a_client_sends_parses_back_to_the_same_request) {
  for (Request r : {Request{}, Request{Verb::kReload, "app"}, Request{Verb::kStop, "b.toml"}, Request{Verb::kStart, "c"}}) {
    std::string line = request_line(r);
    ASSERT_EQ(line.back(), '\n');
    ParseResult back = parse_request(line);
    ASSERT_TRUE(back.request);
    EXPECT_EQ(back.request->verb, r.verb);
    EXPECT_EQ(back.request->name, r.name);
  }
}

}  // namespace
}  // namespace suz::control
