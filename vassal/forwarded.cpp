#include "vassal/forwarded.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "vassal/ascii.hpp"
#include "vassal/http_head_rules.hpp"

namespace suz {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;  // one Forwarded element, names as sent

bool is_forwarding_header(std::string_view name) {
  return iequals(name, "X-Forwarded-For") || iequals(name, "X-Forwarded-Proto") ||
         iequals(name, "X-Forwarded-Host") || iequals(name, "Forwarded");
}

// Every value of a header, comma-joined as one list (RFC 9110 5.3).
std::optional<std::string> joined(const Request& r, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (!iequals(n, name)) continue;
    if (out) *out += ",";
    else out.emplace();
    *out += v;
  }
  return out;
}

std::vector<std::string_view> list_elements(std::string_view list) {
  std::vector<std::string_view> out;
  for_each_list_element(list, [&](std::string_view e) {
    out.push_back(e);
    return false;
  });
  return out;
}

// RFC 7239 section 4: elements separated by commas, pairs by semicolons,
// each value a token or a quoted string.
std::optional<std::vector<Pairs>> parse_forwarded(std::string_view s) {
  std::vector<Pairs> elements(1);
  std::size_t i = 0;
  auto skip_ows = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  auto token = [&] {
    std::size_t start = i;
    while (i < s.size() && is_token(s.substr(i, 1))) ++i;
    return s.substr(start, i - start);
  };
  for (;;) {
    skip_ows();
    std::string_view name = token();
    if (!name.empty()) {
      if (i >= s.size() || s[i] != '=') return std::nullopt;
      ++i;
      std::string value;
      if (i < s.size() && s[i] == '"') {
        for (++i;; ++i) {
          if (i >= s.size()) return std::nullopt;  // unterminated
          if (s[i] == '"') break;
          if (s[i] == '\\' && ++i >= s.size()) return std::nullopt;
          value += s[i];
        }
        ++i;
      } else {
        value = token();
        if (value.empty()) return std::nullopt;
      }
      elements.back().emplace_back(std::string(name), std::move(value));
    }
    skip_ows();
    if (i >= s.size()) return elements;
    if (s[i] == ',') elements.emplace_back();
    else if (s[i] != ';') return std::nullopt;
    ++i;
  }
}

const std::string* find(const Pairs& element, std::string_view name) {
  for (const auto& [n, v] : element)
    if (iequals(n, name)) return &v;  // parameter names are case-insensitive (RFC 7239 4)
  return nullptr;
}

// A Host value is a reg-name or an IP literal, with an optional port:
// nothing that could end a header or a log line.
bool plausible_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
  });
}

}  // namespace

bool split_node(std::string_view node, std::string& address, std::string& port) {
  std::string_view a = node, p;
  if (node.starts_with('[')) {
    std::size_t close = node.find(']');
    if (close == std::string_view::npos) return false;
    a = node.substr(1, close - 1);
    std::string_view rest = node.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      p = rest.substr(1);
    }
  } else if (!AddressSet::is_address(node)) {
    std::size_t colon = node.find(':');
    if (colon == std::string_view::npos || node.find(':', colon + 1) != std::string_view::npos) return false;
    a = node.substr(0, colon);
    p = node.substr(colon + 1);
  } else {
    a = node;
  }
  if (!AddressSet::is_address(a)) return false;
  if (!p.empty() || node.ends_with(':')) {
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }))
      return false;
  }
  address = a;
  port = p;
  return true;
}

std::string resolve_forwarded(Request& r, const ProxyTrust& trust) {
  if (!trust.forwarded_allow.contains(r.remote_addr)) {
    std::erase_if(r.headers, [](const auto& h) { return is_forwarding_header(h.first); });
    return "";
  }

  // The chain of hops, client first, and the right-most proto and host.
  std::vector<std::string> chain;
  std::optional<std::string> proto, host;
  if (auto forwarded = joined(r, "Forwarded")) {
    auto elements = parse_forwarded(*forwarded);
    if (!elements) return "malformed Forwarded header from a trusted proxy";
    for (const Pairs& e : *elements) {
      const std::string* f = find(e, "for");
      chain.push_back(f ? *f : "");
      if (const std::string* p = find(e, "proto")) proto = *p;
      if (const std::string* h = find(e, "host")) host = *h;
    }
  } else {
    if (auto xff = joined(r, "X-Forwarded-For"))
      for (std::string_view e : list_elements(*xff)) chain.emplace_back(e);
    // The right-most element of a list field, if it has one.
    auto last_of = [&](std::string_view name) -> std::optional<std::string> {
      auto list = joined(r, name);
      if (!list) return std::nullopt;
      auto elements = list_elements(*list);
      if (elements.empty()) return std::nullopt;
      return std::string(elements.back());
    };
    proto = last_of("X-Forwarded-Proto");
    host = last_of("X-Forwarded-Host");
  }

  for (auto hop = chain.rbegin(); hop != chain.rend(); ++hop) {
    std::string address, port;
    if (!split_node(*hop, address, port)) break;
    r.remote_addr = address;
    r.remote_port = port.empty() ? "0" : port;
    if (!trust.forwarded_allow.contains(address)) break;
  }
  if (proto) {
    if (iequals(*proto, "http")) r.url_scheme = "http";
    else if (iequals(*proto, "https")) r.url_scheme = "https";
  }
  if (trust.forwarded_host && host && plausible_host(*host)) {
    std::erase_if(r.headers, [](const auto& h) { return iequals(h.first, "Host"); });
    r.headers.emplace_back("Host", *host);
  }
  return "";
}

}  // namespace suz
