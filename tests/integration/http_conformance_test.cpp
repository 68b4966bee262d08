// Every request of two public corpora (gunicorn's and llhttp's request
// tests, in ../shared/conformance/http, read at test time, described in its
// README) sent to a real vassal and judged:
//   valid:   200 and the environ the corpus expects, pipelined requests in
//            order, unless one of RFC 9112's MUSTs that the corpus's own
//            parser does not apply refuses it (HTTP/1.1 without exactly one
//            Host; a protocol other than HTTP): then 400;
//   invalid: a 4xx or a closed connection, never a 200 with a request read
//            some other way.
#include <gtest/gtest.h>

#include <strings.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

fs::path corpora() {
  if (const char* dir = std::getenv("SUZERAIN_CONFORMANCE_DIR")) return dir;
  return source_dir() / ".." / "shared" / "conformance" / "http";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The corpora's strings hold one octet per code point (latin-1).
std::string octets(const std::string& utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0xc0 && i + 1 < utf8.size()) {
      out += static_cast<char>(((c & 0x1f) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3f));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0, value = 0;
  for (char c : in) {
    auto at = kAlphabet.find(c);
    if (at == std::string::npos) continue;  // '=' and line ends
    value = (value << 6) | static_cast<int>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

std::string percent_decoded(const std::string& s) {
  std::string out;
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string environ_key(std::string name) {
  for (char& c : name) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" ? name : "HTTP_" + name;
}

// What one request of a case must come to.
struct Expected {
  bool refused = false;    // by one of the rules above (400, or 501 for a transfer coding)
  bool may_refuse = false;  // a lenient llhttp case: refusing it is as good as reading it right
  std::string method, uri, path, query, protocol, body;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent
  bool compare_headers = true;
};

// Why RFC 9112 has a server refuse what the corpus's parser took ("" if not).
std::string must_refuse(const std::string& protocol, const std::vector<std::pair<std::string, std::string>>& headers) {
  if (protocol.rfind("HTTP/", 0) != 0) return "not HTTP";
  int hosts = 0;
  for (const auto& [name, value] : headers) {
    if (strcasecmp(name.c_str(), "Host") == 0) hosts++;
    // A transfer coding other than chunked: 501 (RFC 9112 6.1, and one
    // framing only: vassal/http_head_rules.hpp).
    if (strcasecmp(name.c_str(), "Transfer-Encoding") == 0 && strcasecmp(value.c_str(), "chunked") != 0)
      return "a transfer coding not implemented";
  }
  if (hosts > 1) return "more than one Host";
  if (hosts == 0 && protocol == "HTTP/1.1") return "HTTP/1.1 without Host";
  return "";
}

// Where this server reads a case otherwise than the corpus, on purpose:
// the status it answers instead, and why.
const std::map<std::string, std::pair<int, std::string>>& deviations() {
  static const std::map<std::string, std::pair<int, std::string>> d = {
      {"uri: Disallow UTF-8 in URI path in strict mode",
       {200, "accepted, as gunicorn's valid/027 expects: real clients send raw UTF-8 targets, and every parser reads them alike"}},
      {"method: M-SEARCH request", {400, "the asterisk form is OPTIONS's alone (RFC 9112 3.2.4), as gunicorn's invalid cases say"}},
      {"method: QUERY request", {501, "llhttp 8.1 predates the QUERY method"}},
  };
  return d;
}

class HttpConformance : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    vassal_ = new VassalUnderTest(R"(
[app]
module = "conformance:app"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
threads = 1
header_timeout = "1s"
keepalive_timeout = "1s"
)");
  }
  static void TearDownTestSuite() {
    delete vassal_;
    vassal_ = nullptr;
  }
  void SetUp() override {
    if (!fs::exists(corpora())) GTEST_SKIP() << "no corpora at " << corpora() << " (set SUZERAIN_CONFORMANCE_DIR)";
  }
  void TearDown() override {
    EXPECT_EQ(vassal_->process().count_lines("worker 1 \\(pid \\d+\\) (exited|killed)"), 0) << vassal_->process().output();
  }

  // Sends bytes on one connection and judges each response against want;
  // invalid_after: the stream is invalid once that many requests were read.
  void judge(const std::string& name, const std::string& bytes, const std::vector<Expected>& want, bool invalid_after) {
    HttpClient c(vassal_->http_port());
    c.send(bytes);
    for (const Expected& w : want) {
      auto r = c.receive(5s);
      if (w.refused) {
        if (r) {
          EXPECT_TRUE(r->status == 400 || r->status == 501) << name << ": should be refused, answered " << r->status;
        }
        return;
      }
      if (w.may_refuse && (!r || r->status != 200)) return;
      ASSERT_TRUE(r) << name << ": no response to a valid request";
      ASSERT_EQ(r->status, 200) << name << ": " << r->body;
      json seen = json::parse(r->body);
      EXPECT_EQ(octets(seen["method"]), w.method) << name;
      if (!w.uri.empty()) {
        EXPECT_EQ(octets(seen["uri"]), w.uri) << name;
      }
      if (!w.path.empty()) {
        EXPECT_EQ(octets(seen["path"]), percent_decoded(w.path)) << name;
      }
      EXPECT_EQ(octets(seen["query"]), w.query) << name;
      if (!w.protocol.empty()) {
        EXPECT_EQ(seen["protocol"], w.protocol) << name;
      }
      EXPECT_EQ(base64_decode(seen["body_b64"]), w.body) << name;
      if (!w.compare_headers) continue;
      std::map<std::string, std::string> joined;
      for (const auto& [n, v] : w.headers) {
        std::string key = environ_key(n);
        joined[key] = joined.contains(key) ? joined[key] + (key == "HTTP_COOKIE" ? "; " : ", ") + v : v;
      }
      for (const auto& [key, value] : joined) {
        if (key == "HTTP_TRANSFER_ENCODING" || key == "HTTP_CONNECTION") continue;  // framing, not the app's
        ASSERT_TRUE(seen["headers"].contains(key)) << name << ": " << key << " missing";
        EXPECT_EQ(octets(seen["headers"][key]), value) << name << ": " << key;
      }
    }
    if (invalid_after) {
      auto r = c.receive(5s);
      // 4xx, or the statuses RFC 9110 has for what a server does not
      // implement (501) and an HTTP version it does not support (505).
      if (r) {
        EXPECT_TRUE((r->status >= 400 && r->status < 500) || r->status == 501 || r->status == 505)
            << name << ": an invalid request answered " << r->status;
      }
    }
  }
  static VassalUnderTest* vassal_;
};
VassalUnderTest* HttpConformance::vassal_ = nullptr;

// gunicorn/: NAME.http's bytes per its README.
std::string gunicorn_bytes(std::string text) {
  std::string s;
  for (char c : text)
    if (c != '\n') s += c;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      if (s.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
      } else {
        out += s[i++];
      }
    }
    s = out;
  };
  replace_all("\\r\\n", "\r\n");
  replace_all("\\0", std::string(1, '\0'));
  replace_all("\\n", "\n");
  replace_all("\\t", "\t");
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] == 'x' && std::isxdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST_F(HttpConformance, gunicorn_valid_requests_are_read_as_gunicorn_reads_them) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(corpora() / "gunicorn" / "valid")) {
    if (entry.path().extension() != ".http") continue;
    fs::path expectation = fs::path(entry.path()).replace_extension(".json");
    json spec = json::parse(read_file(expectation));
    bool other_settings = spec.contains("cfg");  // gunicorn with a non-default setting
    bool truncated = false;  // a body shorter than its Content-Length: only gunicorn's reader stops there
    std::vector<Expected> want;
    for (const json& r : spec["requests"]) {
      Expected w;
      w.method = octets(r["method"]);
      w.uri = octets(r["uri"]["raw"]);
      w.path = octets(r["uri"]["path"]);
      w.query = octets(r["uri"]["query"]);
      w.protocol = "HTTP/" + std::to_string(r["version"][0].get<int>()) + "." + std::to_string(r["version"][1].get<int>());
      for (const json& h : r["headers"]) w.headers.emplace_back(octets(h[0]), octets(h[1]));
      w.body = base64_decode(r["body_b64"]);
      for (const auto& [n, v] : w.headers)
        if (strcasecmp(n.c_str(), "Content-Length") == 0 && std::stoull(v) > w.body.size()) truncated = true;
      if (!w.uri.empty() && w.uri.front() != '/') w.path.clear();  // absolute-form: gunicorn's path split differs
      w.refused = !must_refuse(w.protocol, w.headers).empty();
      want.push_back(std::move(w));
      if (want.back().refused) break;
    }
    if (other_settings || truncated) continue;  // judged by gunicorn's defaults, on whole requests
    judge("gunicorn/valid/" + entry.path().filename().string(), gunicorn_bytes(read_file(entry.path())), want, false);
    ++cases;
  }
  EXPECT_GT(cases, 40);
}

TEST_F(HttpConformance, gunicorn_invalid_requests_are_refused) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(corpora() / "gunicorn" / "invalid")) {
    if (entry.path().extension() != ".http") continue;
    json spec = json::parse(read_file(fs::path(entry.path()).replace_extension(".json")));
    if (spec.contains("cfg")) continue;  // invalid only under a non-default gunicorn setting
    // gunicorn's own limits (a 4094-byte request line, 100 fields of 8190
    // bytes) are not HTTP's; ours is max_header_size, tested in HttpLimits.
    if (spec["error"].get<std::string>().rfind("Limit", 0) == 0) continue;
    judge("gunicorn/invalid/" + entry.path().filename().string(), gunicorn_bytes(read_file(entry.path())), {}, true);
    ++cases;
  }
  EXPECT_GT(cases, 40);
}

// llhttp/: each test's input, made literal per the README, and what its log says.
struct LlhttpCase {
  std::string name, type, input;
  std::vector<Expected> messages;  // completed, in order
  bool error = false;              // the log ends in an error
};

std::string llhttp_literal(std::string block) {
  if (!block.empty() && block.back() == '\n') block.pop_back();
  std::string joined;
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (block[i] == '\\' && i + 1 < block.size() && block[i + 1] == '\n') {
      ++i;
      continue;
    }
    joined += block[i];
  }
  std::string crlf;
  for (char c : joined) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::string out;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] != '\\' || i + 1 >= crlf.size()) {
      out += crlf[i];
      continue;
    }
    char n = crlf[i + 1];
    if (n == 'r' || n == 'n' || n == 't' || n == 'f') {
      out += n == 'r' ? '\r' : n == 'n' ? '\n' : n == 't' ? '\t' : '\f';
      ++i;
    } else if (n == 'x') {
      std::size_t j = i + 2;
      int v = 0;
      while (j < crlf.size() && std::isxdigit(static_cast<unsigned char>(crlf[j]))) v = v * 16 + std::stoi(std::string(1, crlf[j++]), nullptr, 16);
      out += static_cast<char>(v);
      i = j - 1;
    } else if (n >= '0' && n <= '7') {
      std::size_t j = i + 1;
      int v = 0;
      while (j < crlf.size() && j < i + 4 && crlf[j] >= '0' && crlf[j] <= '7') v = v * 8 + (crlf[j++] - '0');
      out += static_cast<char>(v);
      i = j - 1;
    } else {
      out += crlf[i];
    }
  }
  return out;
}

// A log span's quoted text, with llhttp's escapes undone.
std::string span_text(const std::string& line) {
  auto q = line.find("=\"");
  if (q == std::string::npos) return "";
  std::string raw = line.substr(q + 2, line.size() - q - 3);
  return llhttp_literal(raw + "\n");
}

std::vector<LlhttpCase> llhttp_cases(const fs::path& file) {
  std::vector<LlhttpCase> out;
  std::istringstream in(read_file(file));
  std::string line, heading, type, block, which;
  bool in_block = false;
  LlhttpCase current;
  Expected message;
  std::string field;
  for (int n = 0; std::getline(in, line); ++n) {
    if (!in_block && line.rfind("#", 0) == 0) heading = line.substr(line.find_first_not_of('#') + 1);
    if (!in_block && line.rfind("<!-- meta=", 0) == 0) {
      json meta = json::parse(line.substr(10, line.rfind("-->") - 10));
      type = meta.value("type", "");
    }
    if (!in_block && (line == "```http" || line == "```log")) {
      in_block = true;
      which = line.substr(3);
      block.clear();
      if (which == "http") current = LlhttpCase{file.stem().string() + ": " + heading, type, "", {}, false};
      message = Expected{};
      continue;
    }
    if (in_block && line == "```") {
      in_block = false;
      if (which == "http") current.input = llhttp_literal(block);
      if (which == "log") out.push_back(current);
      continue;
    }
    if (!in_block) continue;
    block += line + "\n";
    if (which != "log") continue;
    if (line.find("span[method]") != std::string::npos) message.method += span_text(line);
    else if (line.find("span[url]") != std::string::npos) message.uri += span_text(line);
    else if (line.find("span[protocol]") != std::string::npos) message.protocol += span_text(line) + "/";
    else if (line.find("span[version]") != std::string::npos) message.protocol += span_text(line);
    else if (line.find("span[body]") != std::string::npos) message.body += span_text(line);
    else if (line.find("span[header_field]") != std::string::npos) field += span_text(line);
    else if (line.find("span[header_value]") != std::string::npos) {
      if (!field.empty()) message.headers.emplace_back(field, "");
      field.clear();
      if (!message.headers.empty()) message.headers.back().second += span_text(line);
    } else if (line.find("message complete") != std::string::npos) {
      message.compare_headers = false;
      message.refused = !must_refuse(message.protocol, message.headers).empty();
      current.messages.push_back(message);
      message = Expected{};
    } else if (line.find(" error code=") != std::string::npos) {
      current.error = true;
    }
  }
  return out;
}

TEST_F(HttpConformance, llhttp_strict_cases_are_read_or_refused_as_llhttp_does) {
  int cases = 0, deviated = 0;
  for (const auto& entry : fs::directory_iterator(corpora() / "llhttp")) {
    if (entry.path().extension() != ".md") continue;
    for (LlhttpCase& c : llhttp_cases(entry.path())) {
      if (auto d = deviations().find(c.name); d != deviations().end()) {
        HttpClient client(vassal_->http_port());
        client.send(c.input);
        auto r = client.receive(5s);
        EXPECT_TRUE(r && r->status == d->second.first) << c.name << ": " << d->second.second;
        ++deviated;
        continue;
      }
      // A case needing a leniency we never turn on: each request must be
      // read right or refused, never read some other way.
      bool lenient = c.type != "request";
      std::vector<Expected> want;
      for (Expected& m : c.messages) {
        m.may_refuse = lenient;
        want.push_back(m);
        if (m.refused) break;
      }
      bool refused_early = !want.empty() && want.back().refused;
      judge("llhttp/" + c.name, c.input, want, c.error && !lenient && !refused_early);
      ++cases;
    }
  }
  EXPECT_GT(cases, 100);
  EXPECT_EQ(deviated, static_cast<int>(deviations().size()));
}

}  // namespace
}  // namespace suz::test
