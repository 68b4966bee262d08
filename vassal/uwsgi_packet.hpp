#pragma once
// The uwsgi protocol's request packet, as nginx's uwsgi_pass sends it:
//   u8 modifier1 | u16 datasize (little endian) | u8 modifier2
//   then datasize bytes of { u16 key_len, key, u16 val_len, val }*
// followed on the stream by CONTENT_LENGTH bytes of body.
#include <cstddef>
#include <string>

#include "vassal/request.hpp"

namespace suz {

inline constexpr std::size_t kUwsgiHeaderSize = 4;

// Total packet size (header + vars) once the 4 header bytes are available.
std::size_t uwsgi_packet_size(const char* header);

// Parses a whole packet into request (cgi_vars, method, path, framing).
// Returns "" on success, or what is wrong with it.
std::string parse_uwsgi_packet(const char* data, std::size_t len, Request& request);

}  // namespace suz
