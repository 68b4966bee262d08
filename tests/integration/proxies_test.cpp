// Trusted proxies ([server] forwarded_allow_ips, forwarded_host,
// uwsgi_allow_ips) against the real binaries, and through a real nginx.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/nginx.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string vassal_trusting(const std::string& server_keys, const std::string& listen = "http = [\"127.0.0.1:0\"]") {
  return "[app]\nmodule = \"validated:application\"\nchdir = \"@APPS@\"\n[server]\n" + listen +
         "\nworkers = 1\n" + server_keys + "\n";
}

nlohmann::json environ_of(HttpClient& c, const std::string& headers) {
  c.send("GET /environ HTTP/1.1\r\nHost: app.internal\r\n" + headers + "\r\n");
  auto r = c.receive();
  if (!r || r->status != 200) return {{"status", r ? r->status : 0}};
  return nlohmann::json::parse(r->body);
}

TEST(Proxies, a_trusted_proxy_names_the_client_and_the_scheme) {
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"127.0.0.1\"]"), 1);
  HttpClient c(v.http_port());
  auto env = environ_of(c, "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
                           "X-Forwarded-Host: shop.example\r\n");
  EXPECT_EQ(env["REMOTE_ADDR"], "203.0.113.7") << env;
  EXPECT_EQ(env["wsgi.url_scheme"], "https");
  EXPECT_EQ(env["HTTPS"], "on");
  EXPECT_EQ(env["HTTP_HOST"], "app.internal") << "forwarded_host is off by default";
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "198.51.100.1, 203.0.113.7") << "kept for the app";

  auto rfc = environ_of(c, "Forwarded: for=\"[2001:db8::7]:4711\";proto=https\r\n");
  EXPECT_EQ(rfc["REMOTE_ADDR"], "2001:db8::7") << rfc;
  EXPECT_EQ(rfc["REMOTE_PORT"], "4711");
  EXPECT_EQ(rfc["wsgi.url_scheme"], "https");
}

TEST(Proxies, forwarded_host_lets_the_proxy_name_the_host) {
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"127.0.0.0/8\"]\nforwarded_host = true"), 1);
  HttpClient c(v.http_port());
  EXPECT_EQ(environ_of(c, "X-Forwarded-Host: shop.example\r\n")["HTTP_HOST"], "shop.example");
}

TEST(Proxies, from_an_untrusted_peer_forwarding_headers_never_reach_the_app) {
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"192.0.2.1\"]\nforwarded_host = true"), 1);
  HttpClient c(v.http_port());
  auto env = environ_of(c, "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
                           "Forwarded: for=203.0.113.7\r\nX_Forwarded_For: 203.0.113.8\r\n");
  EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1") << env;
  EXPECT_EQ(env["wsgi.url_scheme"], "http");
  EXPECT_FALSE(env.contains("HTTPS"));
  EXPECT_EQ(env["HTTP_HOST"], "app.internal");
  for (const char* key : {"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED"})
    EXPECT_FALSE(env.contains(key)) << key << " reached the app";
}

TEST(Proxies, a_malformed_forwarded_header_from_a_trusted_proxy_is_a_400_and_the_worker_serves_on) {
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"127.0.0.1\"]"), 1);
  HttpClient c(v.http_port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\nForwarded: for=\"203.0.113.7\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(serves(v.http_port()));
  EXPECT_TRUE(v.process().wait_for_line("rejected: malformed Forwarded header", 10s)) << v.process().output();
}

TEST(Proxies, an_ipv6_proxy_is_trusted_by_its_address) {
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"::1\"]", "http = [\"[::1]:0\"]"), 1);
  ASSERT_NE(v.http_port(), 0) << v.process().output();
  HttpClient c(v.http_port(), "::1");
  auto env = environ_of(c, "X-Forwarded-For: 2001:db8::42\r\n");
  EXPECT_EQ(env["REMOTE_ADDR"], "2001:db8::42") << env;
}

TEST(Proxies, through_nginx_the_client_is_the_address_nginx_saw_and_a_spoofed_hop_is_ignored) {
  if (!NginxUnderTest::installed()) GTEST_SKIP() << "nginx is not installed";
  // nginx reaches the vassal from 127.0.0.3 (proxy_bind): only that address
  // is trusted, so the test client on 127.0.0.1 is an ordinary client.
  VassalUnderTest v(vassal_trusting("forwarded_allow_ips = [\"127.0.0.3\"]"), 1);
  NginxUnderTest nginx(R"(
    location / {
      proxy_pass http://127.0.0.1:)" + std::to_string(v.http_port()) + R"(;
      proxy_bind 127.0.0.3;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    })");
  ASSERT_NE(nginx.port(), 0) << nginx.output();
  HttpClient c(nginx.port());
  auto env = environ_of(c, "X-Forwarded-For: 6.6.6.6\r\n");
  EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1") << env;
  EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "6.6.6.6, 127.0.0.1");
  EXPECT_EQ(env["wsgi.url_scheme"], "https");

  HttpClient direct(v.http_port());
  auto spoofed = environ_of(direct, "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n");
  EXPECT_EQ(spoofed["REMOTE_ADDR"], "127.0.0.1");
  EXPECT_EQ(spoofed["wsgi.url_scheme"], "http");
  EXPECT_FALSE(spoofed.contains("HTTP_X_FORWARDED_FOR"));
}

TEST(Proxies, a_uwsgi_peer_outside_uwsgi_allow_ips_is_refused_and_an_allowed_one_is_taken_as_sent) {
  VassalUnderTest refusing(vassal_trusting("uwsgi_allow_ips = [\"192.0.2.1\"]", "uwsgi = [\"127.0.0.1:0\"]"), 1);
  HttpClient c(refusing.uwsgi_port());
  auto packet = uwsgi_packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/environ"}, {"PATH_INFO", "/environ"},
                              {"QUERY_STRING", ""}, {"SERVER_NAME", "front"}, {"SERVER_PORT", "443"},
                              {"REMOTE_ADDR", "10.9.9.9"}, {"HTTPS", "on"}, {"SERVER_PROTOCOL", "HTTP/1.1"}});
  c.send(packet);
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_TRUE(refusing.process().wait_for_line("not in \\[server\\] uwsgi_allow_ips", 10s)) << refusing.process().output();

  VassalUnderTest by_default(vassal_trusting("", "uwsgi = [\"127.0.0.1:0\"]"), 1);
  HttpClient d(by_default.uwsgi_port());
  d.send(packet);
  auto ok = d.receive();
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto env = nlohmann::json::parse(ok->body);
  EXPECT_EQ(env["REMOTE_ADDR"], "10.9.9.9");
  EXPECT_EQ(env["wsgi.url_scheme"], "https");
}

}  // namespace
}  // namespace suz::test
