#pragma once
// One line of the request log in its [log] access_format (core/access_format.hpp).
//
// A value from the request (a path, a header) can never forge a field or
// split a line: in text formats a quote, a backslash, a control byte or a
// byte past ASCII is escaped (\", \\, \xNN, as nginx does); the JSON is
// built by a JSON encoder, invalid UTF-8 replaced. An empty address, path
// or header is "-".
#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/access_format.hpp"
#include "vassal/served.hpp"

namespace suz {

// Appends the line, newline included.
void append_access_line(std::string& out, const AccessFormat& format, const Served& s, int worker, pid_t pid);

// A request header's value ("" if absent): from the head for HTTP, from the
// HTTP_* CGI variables for uwsgi.
std::string_view header_of(const Request& r, std::string_view name);

}  // namespace suz
