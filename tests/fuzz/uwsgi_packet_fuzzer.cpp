// Fuzzes the uwsgi protocol packet parser (what nginx's uwsgi_pass sends):
// any bytes either parse into a request or give a reason, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "vassal/uwsgi_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  if (size >= suz::kUwsgiHeaderSize) {
    // The size the connection reads before parsing; the parser must agree.
    std::size_t want = suz::uwsgi_packet_size(bytes);
    if (want < suz::kUwsgiHeaderSize || want > suz::kUwsgiHeaderSize + 0xffff) std::abort();
  }
  suz::Request request;
  std::string error = suz::parse_uwsgi_packet(bytes, size, request);
  if (error.empty() && size < suz::kUwsgiHeaderSize) std::abort();
  return 0;
}
