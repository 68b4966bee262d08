// Fuzzes the HTTP request path the way a connection drives it: bytes arrive
// in arbitrary pieces, pipelined requests follow each other, and the parser
// must either finish a request, ask for more, or name an error status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vassal/http_head_rules.hpp"
#include "vassal/http_request_parser.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // an invariant broke: libFuzzer keeps the input
}

bool is_error_status(int status) {
  return status == 400 || status == 413 || status == 414 || status == 417 || status == 431 || status == 501 ||
         status == 505;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks how the stream is cut, so the fuzzer explores the
  // same requests split at every boundary.
  const std::size_t piece = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  std::size_t len = size - 1;

  suz::HttpRequestParser parser(suz::HttpLimits{.max_header_size = 2048, .max_body_size = 4096});
  std::size_t offset = 0;
  while (offset < len) {
    const std::size_t given = offset + piece < len ? piece : len - offset;
    suz::HttpRequestParser::Stop stop;
    std::size_t used = parser.feed(bytes + offset, given, &stop);
    check(used <= given);
    offset += used;
    switch (stop) {
      case suz::HttpRequestParser::Stop::kNeedMore:
        check(used == given);  // asking for more means it took everything
        break;
      case suz::HttpRequestParser::Stop::kHead: {
        const suz::Request& r = parser.request();
        check(!r.method.empty());
        check(r.path.size() <= r.target.size());
        break;
      }
      case suz::HttpRequestParser::Stop::kBody:
        check(parser.head_complete());
        check(parser.body_received() <= 4096);
        if (auto cl = parser.request().content_length) check(parser.body_received() <= *cl);
        break;
      case suz::HttpRequestParser::Stop::kComplete:
        check(parser.head_complete() && parser.message_complete());
        if (auto cl = parser.request().content_length; cl && !parser.request().chunked)
          check(parser.body_received() == *cl);
        parser.reset();
        break;
      case suz::HttpRequestParser::Stop::kError:
        check(is_error_status(parser.error_status()));
        check(!parser.error_reason().empty());
        return 0;  // the connection answers and closes
    }
  }
  (void)suz::percent_decode(std::string_view(bytes, len));
  return 0;
}
