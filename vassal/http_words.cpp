#include "vassal/http_words.hpp"

#include <time.h>

#include <cstring>
#include <ctime>

#include "vassal/ascii.hpp"

namespace suz {

bool contains_token(std::string_view value, std::string_view token) {
  return for_each_list_element(value, [&](std::string_view element) { return iequals(element, token); });
}

bool is_hop_by_hop(std::string_view name) {
  return iequals(name, "Connection") || iequals(name, "Keep-Alive") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Proxy-Connection") || iequals(name, "Upgrade") || iequals(name, "TE") ||
         iequals(name, "Trailer");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

std::string_view date_header() {
  thread_local time_t cached_second = 0;
  thread_local char text[64];
  thread_local std::size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    len = std::strftime(text, sizeof text, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cached_second = now;
  }
  return {text, len};
}

}  // namespace suz
