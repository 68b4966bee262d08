// The request log's formats (core/access_format.hpp) and lines
// (vassal/access_line.hpp): what each says, and that no request bytes can
// forge a field or split a line.
#include "vassal/access_line.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ctime>

namespace suz {
namespace {

Request sample() {
  Request r;
  r.method = "GET";
  r.target = "/shop/cart?id=7";
  r.path = "/shop/cart";
  r.query = "id=7";
  r.protocol = "HTTP/1.1";
  r.remote_addr = "203.0.113.7";
  r.remote_port = "51000";
  r.headers = {{"Host", "shop"}, {"User-Agent", "curl/8.1"}, {"referer", "https://example/"}};
  return r;
}

std::string line(std::string_view spec, const Request& r, int status = 200, std::uint64_t bytes = 512,
                 bool complete = true) {
  auto f = AccessFormat::parse(spec);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error());
  // 2026-12-02 10:00:00.123 UTC
  auto at = std::chrono::system_clock::from_time_t(1796205600) + std::chrono::milliseconds(123);
  Served s{r, status, bytes, at, std::chrono::microseconds(1500), complete};
  std::string out;
  append_access_line(out, *f, s, 3, 4242);
  return out;
}

TEST(AccessLine, combined_is_apaches_with_the_duration_in_seconds) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(line("combined", sample()),
            "203.0.113.7 - - [02/Dec/2026:10:00:00 +0000] \"GET /shop/cart?id=7 HTTP/1.1\" 200 512 "
            "\"https://example/\" \"curl/8.1\" 0.001500\n");
}

TEST(AccessLine, a_request_that_never_parsed_and_missing_headers_show_a_dash) {
  Request r;
  r.remote_addr = "198.51.100.2";
  std::string l = line("combined", r, 400, 12);
  EXPECT_NE(l.find("\"-\" 400 12 \"-\" \"-\" "), std::string::npos) << l;
}

TEST(AccessLine, quotes_newlines_and_bytes_past_ascii_are_escaped_in_text_formats) {
  Request r = sample();
  r.target = "/a\"b\\c\nGET /forged HTTP/1.1\x1b[31m\xff";
  r.headers = {{"User-Agent", "x\" \"y"}};
  std::string l = line("combined", r);
  EXPECT_EQ(std::count(l.begin(), l.end(), '\n'), 1) << l;
  EXPECT_NE(l.find("/a\\\"b\\\\c\\x0AGET /forged HTTP/1.1\\x1B[31m\\xFF"), std::string::npos) << l;
  EXPECT_NE(l.find("\"x\\\" \\\"y\""), std::string::npos) << l;
}

TEST(AccessLine, json_has_every_field_and_survives_any_bytes) {
  Request r = sample();
  r.headers = {{"User-Agent", "evil\", \"status\": 200, \"x\": \"\xff\xfe"}, {"Referer", "r"}};
  std::string l = line("json", r, 503, 9, false);
  ASSERT_EQ(l.back(), '\n');
  EXPECT_EQ(std::count(l.begin(), l.end(), '\n'), 1);
  auto j = nlohmann::json::parse(l);
  EXPECT_EQ(j["time"], "2026-12-02T10:00:00.123Z");
  EXPECT_EQ(j["remote_addr"], "203.0.113.7");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/shop/cart");
  EXPECT_EQ(j["query"], "id=7");
  EXPECT_EQ(j["protocol"], "HTTP/1.1");
  EXPECT_EQ(j["status"], 503);
  EXPECT_EQ(j["bytes"], 9);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 1.5);
  EXPECT_EQ(j["referer"], "r");
  EXPECT_EQ(j["user_agent"], "evil\", \"status\": 200, \"x\": \"\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(j["worker"], 3);
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["complete"], false);
}

TEST(AccessLine, a_template_takes_fields_headers_and_literal_braces) {
  EXPECT_EQ(line("{remote_addr}:{remote_port} {method} {path} q={query} {protocol} {status} {bytes} "
                 "{duration_ms}ms w{worker} p{pid} {time_iso} {header:host} {header:X-Missing} {{literal}}",
                 sample()),
            "203.0.113.7:51000 GET /shop/cart q=id=7 HTTP/1.1 200 512 1.500ms w3 p4242 2026-12-02T10:00:00.123Z shop - "
            "{literal}\n");
}

TEST(AccessLine, uwsgi_requests_have_their_headers_as_cgi_variables) {
  Request r = sample();
  r.headers.clear();
  r.cgi_vars = {{"HTTP_USER_AGENT", "nginx-client"}, {"HTTP_X_REQUEST_ID", "abc"}};
  EXPECT_EQ(line("{header:User-Agent} {header:X-Request-Id}", r), "nginx-client abc\n");
}

TEST(AccessFormat, bad_templates_name_the_problem) {
  for (auto [spec, needle] : std::vector<std::pair<std::string, std::string>>{
           {"{remote_adr}", "unknown field {remote_adr}"},
           {"{status", "a \"{\" with no \"}\""},
           {"status}", "a \"}\" with no \"{\""},
           {"{header:}", "unknown field {header:}"},
           {"", "an empty format"}}) {
    auto f = AccessFormat::parse(spec);
    ASSERT_FALSE(f.has_value()) << spec;
    EXPECT_NE(f.error().find(needle), std::string::npos) << spec << ": " << f.error();
  }
}

}  // namespace
}  // namespace suz
