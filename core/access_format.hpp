#pragma once
// The request log's format ([log] access_format), as parsed from a vassal
// file; vassal/access_line.hpp writes the lines.
//   "combined"  Apache's combined format, plus the duration in seconds:
//               127.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /x?q=1 HTTP/1.1" 200 512 "-" "curl/8.1" 0.000412
//   "json"      one object per line with the same fields, the query apart,
//               plus the duration in milliseconds and the worker:
//               {"time":"2026-12-02T10:00:00.123Z","remote_addr":"127.0.0.1","method":"GET","path":"/x",...}
//   a template  fields in braces, everything else as written ("{{" and "}}"
//               for braces): "{remote_addr} {method} {path} {status} {duration_ms}ms"
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace suz {

struct AccessFormat {
  enum class Kind { kCombined, kJson, kTemplate };
  enum class Field {
    kLiteral, kRemoteAddr, kRemotePort, kRequestLine, kMethod, kPath, kQuery, kTarget, kProtocol, kStatus,
    kBytes, kDurationMs, kDurationS, kWorker, kPid, kTime, kTimeIso, kHeader,
  };
  struct Piece {
    Field field = Field::kLiteral;
    std::string text;  // the literal, or the header's name
  };

  Kind kind = Kind::kCombined;
  std::vector<Piece> pieces;  // combined and templates; empty for json

  // The error names the unknown field or the unbalanced brace.
  static Result<AccessFormat> parse(std::string_view spec);
  // Every field a template may use, for messages.
  static std::string_view field_names();
};

}  // namespace suz
