#include "core/access_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace suz {
namespace {

constexpr std::string_view kCombined =
    "{remote_addr} - - [{time}] \"{request_line}\" {status} {bytes} \"{header:Referer}\" \"{header:User-Agent}\" "
    "{duration_s}";

bool is_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

}  // namespace

std::string_view AccessFormat::field_names() {
  return "remote_addr, remote_port, request_line, method, path, query, target, protocol, status, bytes, "
         "duration_ms, duration_s, worker, pid, time, time_iso, header:NAME";
}

Result<AccessFormat> AccessFormat::parse(std::string_view spec) {
  AccessFormat f;
  if (spec == "json") {
    f.kind = Kind::kJson;
    return f;
  }
  f.kind = spec == "combined" ? Kind::kCombined : Kind::kTemplate;
  std::string_view text = spec == "combined" ? kCombined : spec;
  static constexpr std::array<std::pair<std::string_view, Field>, 16> kFields{{
      {"remote_addr", Field::kRemoteAddr}, {"remote_port", Field::kRemotePort},
      {"request_line", Field::kRequestLine}, {"method", Field::kMethod}, {"path", Field::kPath},
      {"query", Field::kQuery}, {"target", Field::kTarget}, {"protocol", Field::kProtocol},
      {"status", Field::kStatus}, {"bytes", Field::kBytes}, {"duration_ms", Field::kDurationMs},
      {"duration_s", Field::kDurationS}, {"worker", Field::kWorker}, {"pid", Field::kPid},
      {"time", Field::kTime}, {"time_iso", Field::kTimeIso},
  }};
  std::string literal;
  auto end_literal = [&] {
    if (!literal.empty()) f.pieces.push_back({Field::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal += c;
      ++i;
      continue;
    }
    if (c == '}') return unexpected("a \"}\" with no \"{\" (write \"}}\" for a brace)");
    if (c != '{') {
      literal += c;
      continue;
    }
    std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) return unexpected("a \"{\" with no \"}\" (write \"{{\" for a brace)");
    std::string_view name = text.substr(i + 1, close - i - 1);
    Piece piece;
    if (name.starts_with("header:") && is_header_name(name.substr(7))) {
      piece = {Field::kHeader, std::string(name.substr(7))};
    } else {
      auto known = std::find_if(kFields.begin(), kFields.end(), [&](const auto& kv) { return kv.first == name; });
      if (known == kFields.end())
        return unexpected("unknown field {" + std::string(name) + "} (the fields: " + std::string(field_names()) +
                          "; or \"combined\" or \"json\")");
      piece.field = known->second;
    }
    end_literal();
    f.pieces.push_back(std::move(piece));
    i = close;
  }
  end_literal();
  if (f.pieces.empty()) return unexpected("an empty format (\"combined\", \"json\" or a template with {fields})");
  return f;
}

}  // namespace suz
