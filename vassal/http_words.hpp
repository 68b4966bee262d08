#pragma once
// The words of an HTTP/1.1 response the connection writes: reason phrases,
// the Date header, which fields are hop-by-hop, token lists.
#include <string_view>

namespace suz {

// A comma-separated field value ("keep-alive, Upgrade") has token, in any case.
bool contains_token(std::string_view value, std::string_view token);
// Connection, Keep-Alive, Transfer-Encoding ...: the server's, not the app's to set.
bool is_hop_by_hop(std::string_view name);
// For the statuses the server itself sends; "Error" for the others.
std::string_view reason_phrase(int status);
// "Date: Sun, 22 Nov 2026 07:30:01 GMT\r\n", formatted once a second per thread.
std::string_view date_header();

}  // namespace suz
