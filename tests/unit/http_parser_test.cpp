// The HTTP/1.1 request parser (llhttp, strict, and the rules on top of it)
// as a table: request bytes, and the requests it must read or the status it
// must refuse them with. Every case is fed whole and one byte at a time: a
// request split across reads must read the same.
#include "vassal/http_request_parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "vassal/http_head_rules.hpp"

namespace suz {
namespace {

// One request as read, or the refusal that ended the stream.
struct Read {
  int status = 0;  // an error status; 0: read
  std::string method, path, query, protocol, body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false;
};

std::vector<Read> parse(const std::string& bytes, std::size_t piece) {
  HttpRequestParser parser(HttpLimits{.max_header_size = 8192, .max_body_size = 1 << 20});
  std::vector<Read> out;
  Read current;
  std::size_t offset = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    std::size_t given = std::min(piece, bytes.size() - offset);
    HttpRequestParser::Stop stop;
    std::size_t used = parser.feed(bytes.data() + offset, given, &stop);
    offset += used;
    switch (stop) {
      case HttpRequestParser::Stop::kNeedMore:
        if (offset >= bytes.size()) return out;  // the rest never came
        break;
      case HttpRequestParser::Stop::kHead: {
        const Request& r = parser.request();
        current = Read{0, r.method, r.path, r.query, r.protocol, "", r.headers, r.keep_alive};
        break;
      }
      case HttpRequestParser::Stop::kBody:
        current.body += parser.body_piece();
        break;
      case HttpRequestParser::Stop::kComplete:
        out.push_back(current);
        parser.reset();
        if (offset >= bytes.size()) return out;
        break;
      case HttpRequestParser::Stop::kError:
        out.push_back(Read{.status = parser.error_status()});
        EXPECT_FALSE(parser.error_reason().empty());
        return out;
    }
  }
  ADD_FAILURE() << "the parser made no progress";
  return out;
}

struct Case {
  const char* name;
  std::string bytes;
  std::vector<Read> want;  // each request read, or a last one with its status
};

Read refused(int status) { return Read{.status = status}; }
Read get(std::string path, std::string query = "", std::vector<std::pair<std::string, std::string>> headers = {{"Host", "h"}}) {
  return Read{0, "GET", std::move(path), std::move(query), "HTTP/1.1", "", std::move(headers), true};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // What the issue found accepted: each is refused now.
      {"a bare LF ending a field line", "GET / HTTP/1.1\r\nHost: h\r\nDummy: x\nContent-Length: 23\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", {refused(400)}},
      {"a bare LF ending the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", {refused(400)}},
      {"bare LFs only", "GET / HTTP/1.1\nHost: h\n\n", {refused(400)}},
      {"a bare CR in a field line", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", {refused(400)}},
      {"a bare CR ending the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", {refused(400)}},
      {"whitespace before a field's colon", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\nabc", {refused(400)}},
      {"whitespace before the colon of any field", "GET / HTTP/1.1\r\nHost: h\r\nX-Anything : 1\r\n\r\n", {refused(400)}},
      {"a space inside a field name", "GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n", {refused(400)}},
      {"a space inside a trailer field name", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "1\r\na\r\n0\r\nBad Name: 1\r\n\r\n", {refused(400)}},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example.com\r\n\r\n", {refused(400)}},
      {"HTTP/1.1 with no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", {refused(400)}},
      {"a chunk size with trailing spaces", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3  \r\nabc\r\n0\r\n\r\n", {refused(400)}},
      {"a ; with no chunk extension", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n", {refused(400)}},
      {"a chunk extension with no ;", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 ext\r\nabc\r\n0\r\n\r\n", {refused(400)}},
      {"an unbalanced quote in a chunk extension", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\r\nabc\r\n0\r\n\r\n", {refused(400)}},
      {"a bare LF after a chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", {refused(400)}},
      {"ICE/1.0", "GET / ICE/1.0\r\nHost: h\r\n\r\n", {refused(400)}},
      {"RTSP/1.0", "GET / RTSP/1.0\r\nHost: h\r\n\r\n", {refused(400)}},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", {refused(505)}},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", {refused(505)}},
      {"an unknown method", "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", {refused(501)}},
      {"an unknown method on a line that is not HTTP", "THIS IS NOT HTTP\r\n\r\n", {refused(400)}},
      {"a body by Content-Length, then the next request", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n",
       {Read{0, "POST", "/p", "", "HTTP/1.1", "hello", {{"Host", "h"}, {"Content-Length", "5"}}, true}, get("/")}},
      {"bytes that are no method", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", {refused(400)}},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", {refused(400)}},
      {"two Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", {refused(400)}},
      {"Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {refused(400)}},
      {"Transfer-Encoding not ending in chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", {refused(400)}},
      {"chunked on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {refused(400)}},
      {"a space in the target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", {refused(400)}},
      {"a NUL in a field value", std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 34), {refused(400)}},
      {"a NUL in the decoded path", "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", {refused(400)}},
      {"Expect other than 100-continue", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx", {refused(417)}},
      // What is read, and how.
      {"field values trimmed of leading and trailing whitespace", "GET / HTTP/1.1\r\nHost: h\r\nX-Value:  abc\t\r\n\r\n",
       {get("/", "", {{"Host", "h"}, {"X-Value", "abc"}})}},
      {"Connection: close with a trailing tab is close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\t\r\n\r\n",
       {Read{0, "GET", "/", "", "HTTP/1.1", "", {{"Host", "h"}, {"Connection", "close"}}, false}}},
      {"a path percent-decoded, the query kept raw", "GET /a%20b?x=%20 HTTP/1.1\r\nHost: h\r\n\r\n", {get("/a b", "x=%20")}},
      {"absolute-form", "GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n", {get("/x", "y", {{"Host", "example.com"}})}},
      {"HTTP/1.0 without Host, closing", "GET / HTTP/1.0\r\n\r\n", {Read{0, "GET", "/", "", "HTTP/1.0", "", {}, false}}},
      {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       {Read{0, "GET", "/", "", "HTTP/1.0", "", {{"Connection", "keep-alive"}}, true}}},
      {"an empty line before the request line", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", {get("/")}},
      {"a chunked body with an extension and a trailer",
       "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: x\r\n\r\n",
       {Read{0, "POST", "/c", "", "HTTP/1.1", "hello world", {{"Host", "h"}, {"Transfer-Encoding", "chunked"}}, true}}},
      {"pipelined requests, in order", "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n", {get("/1"), get("/2")}},
      {"a bare CR ending the field section", "GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n", {refused(400)}},
      {"an empty value then a bare CR", "POST / HTTP/1.1\r\nHost: h\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", {refused(400)}},
      {"a bare CR ending the trailers", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\rGET /evil HTTP/1.1\r\nHost: h\r\n\r\n", {refused(400)}},
      {"Content-Length in the trailers", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\nContent-Length: 9\r\n\r\n", {refused(400)}},
      {"two Content-Type", "GET / HTTP/1.1\r\nHost: h\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", {refused(400)}},
      {"the asterisk form on GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", {refused(400)}},
      {"a request after a bad one is never read", "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\nHost: h\r\n\r\n", {get("/1"), refused(400)}},
      {"a field value with UTF-8 and obs-text", "GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n", {get("/", "", {{"Host", "h"}, {"X", "caf\xc3\xa9"}})}},
  };
  return table;
}

class HttpParserTable : public testing::TestWithParam<std::size_t> {};

void expect_reads(const std::vector<Read>& got, const std::vector<Read>& want, const std::string& how) {
  ASSERT_EQ(got.size(), want.size()) << how;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].status, want[i].status) << how << ", request " << i;
    if (want[i].status != 0) continue;
    EXPECT_EQ(got[i].method, want[i].method) << how;
    EXPECT_EQ(got[i].path, want[i].path) << how;
    EXPECT_EQ(got[i].query, want[i].query) << how;
    EXPECT_EQ(got[i].protocol, want[i].protocol) << how;
    EXPECT_EQ(got[i].body, want[i].body) << how;
    EXPECT_EQ(got[i].headers, want[i].headers) << how;
    EXPECT_EQ(got[i].keep_alive, want[i].keep_alive) << how;
  }
}

TEST_P(HttpParserTable, reads_or_refuses_as_rfc_9112_says) {
  const Case& c = cases()[GetParam()];
  expect_reads(parse(c.bytes, c.bytes.size()), c.want, std::string(c.name) + ", whole");
  expect_reads(parse(c.bytes, 1), c.want, std::string(c.name) + ", one byte at a time");
}

INSTANTIATE_TEST_SUITE_P(Cases, HttpParserTable, testing::Range<std::size_t>(0, cases().size()),
                         [](const testing::TestParamInfo<std::size_t>& info) {
                           std::string name = cases()[info.param].name;
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

// The fuzz target's seeds (its first byte picks the piece size; the rest is
// the stream), with what each must come to.
TEST(HttpParserSeeds, each_fuzz_seed_reads_or_is_refused_as_expected) {
  const std::map<std::string, std::vector<int>> expected = {
      {"seed-absolute_form", {0}},   {"seed-bad_utf8_path", {0}}, {"seed-bad_version", {505}},
      {"seed-chunked", {0}},         {"seed-expect", {0}},        {"seed-get", {0}},
      {"seed-huge_chunk", {413}},    {"seed-keepalive_10", {0}},  {"seed-nul_in_path", {400}},
      {"seed-obs_fold", {400}},      {"seed-pipelined", {0, 0, 0}}, {"seed-post_length", {0}},
      {"seed-smuggle_cl_te", {400}}, {"seed-smuggle_two_cl", {400}},
  };
  std::filesystem::path dir = test::source_dir() / "tests/fuzz/corpus/http_request_fuzzer";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("seed-", 0) != 0) continue;
    ++seen;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str().substr(1);
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << name << ": a seed with no expectation here";
    std::vector<int> statuses;
    for (const Read& r : parse(bytes, bytes.size())) statuses.push_back(r.status);
    EXPECT_EQ(statuses, it->second) << name;
  }
  EXPECT_EQ(seen, static_cast<int>(expected.size()));
}

TEST(HttpHeadRules, split_target_takes_the_four_forms_and_nothing_else) {
  std::string path, query;
  EXPECT_TRUE(split_target("/a?b#c", "GET", path, query));
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "b");
  EXPECT_TRUE(split_target("https://h:8/p", "GET", path, query));
  EXPECT_EQ(path, "/p");
  EXPECT_TRUE(split_target("http://h", "GET", path, query));
  EXPECT_EQ(path, "/");
  EXPECT_TRUE(split_target("h:443", "CONNECT", path, query));
  EXPECT_TRUE(split_target("*", "OPTIONS", path, query));
  EXPECT_FALSE(split_target("h:443", "GET", path, query));
  EXPECT_FALSE(split_target("http:///p", "GET", path, query));
  EXPECT_FALSE(split_target("", "GET", path, query));
  EXPECT_FALSE(split_target("*", "GET", path, query));
}

}  // namespace
}  // namespace suz
