#pragma once
// Who the client is when a proxy stands in front of the vassal.
//
// A proxy names the client it serves in X-Forwarded-For (each hop appends
// the address it was reached from) or RFC 7239's Forwarded: for=, and the
// scheme in X-Forwarded-Proto or Forwarded: proto=. Only a proxy the
// operator trusts ([server] forwarded_allow_ips) is believed: from any
// other peer anyone could send those headers, so they are removed before
// the app sees the request, and an app that reads HTTP_X_FORWARDED_FOR
// itself cannot be fooled either.
//
// From a trusted peer:
//   - the client is the right-most address of the chain that is not a
//     trusted proxy itself (proxies in front of proxies are walked past);
//     Forwarded is used when present, X-Forwarded-For otherwise;
//   - an element that is not an address ("unknown", an obfuscated
//     "_hidden", garbage) ends the walk: the client is the last trusted hop;
//   - the scheme is the right-most proto, when it is http or https;
//   - with forwarded_host, Host is the right-most X-Forwarded-Host or
//     Forwarded host=, when it is a plausible host;
//   - a Forwarded header that does not parse is a 400: the proxy and the
//     app would disagree on who the client is.
//
// uwsgi has no such headers: the front end sends REMOTE_ADDR and HTTPS as
// CGI variables, believed only from [server] uwsgi_allow_ips (loopback and
// unix by default); any other peer is refused with 403.
#include <string>

#include "core/address_set.hpp"
#include "vassal/request.hpp"

namespace suz {

struct ProxyTrust {
  AddressSet forwarded_allow;
  bool forwarded_host = false;
  AddressSet uwsgi_allow = AddressSet::loopback_and_unix();
};

// r.remote_addr is the socket peer ("" on a unix socket) on entry and the
// resolved client on return. Returns "" or why the request is a 400.
std::string resolve_forwarded(Request& r, const ProxyTrust& trust);

// "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]:80": the
// address and the port ("" if none); false for anything else.
bool split_node(std::string_view node, std::string& address, std::string& port);

}  // namespace suz
