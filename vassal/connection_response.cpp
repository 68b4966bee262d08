// The response half of a connection: the app's start_response and writes
// turned into HTTP/1.1 framing (Content-Length, chunked, or close-delimited),
// and the server's own short answers.
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "vassal/ascii.hpp"
#include "vassal/connection.hpp"
#include "vassal/http_words.hpp"

namespace suz {

void Connection::start(std::string status, Headers headers) {
  if (headers_sent_) throw std::logic_error("start_response after the headers were sent");
  status_ = std::move(status);
  headers_.clear();
  content_length_.reset();
  for (auto& [name, value] : headers) {
    if (iequals(name, "Connection")) {
      if (contains_token(value, "close")) close_after_ = true;
      continue;
    }
    if (is_hop_by_hop(name)) continue;  // framing is the server's business
    if (iequals(name, "Content-Length")) {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc() && ptr == value.data() + value.size()) content_length_ = n;
      else continue;  // an unparsable length would break framing: drop it
    }
    headers_.emplace_back(std::move(name), std::move(value));
  }
}

void Connection::send_headers(std::string_view first_body) {
  int code = std::atoi(status_.c_str());
  no_body_ = request_->head || (code >= 100 && code < 200) || code == 204 || code == 304;
  if (!content_length_ && !no_body_) {
    if (protocol_ == Protocol::kHttp && request_->http_minor >= 1) chunked_ = true;
    else close_after_ = true;  // the end of the body is the end of the connection
  }
  if (retiring_.load()) close_after_ = true;

  std::string head;
  head.reserve(256);
  head += protocol_ == Protocol::kUwsgi ? request_->protocol : std::string("HTTP/1.1");
  head += ' ';
  head += status_;
  head += "\r\n";
  bool has_date = false;
  for (const auto& [name, value] : headers_) {
    has_date = has_date || iequals(name, "Date");
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (!has_date) head += date_header();
  if (chunked_) head += "Transfer-Encoding: chunked\r\n";
  if (close_after_) {
    if (protocol_ == Protocol::kHttp) head += "Connection: close\r\n";
  } else if (request_->http_minor == 0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  headers_sent_ = true;

  if (first_body.empty() || no_body_) {
    std::string_view piece = head;
    send_all(&piece, 1, ends_connection(0));
    return;
  }
  if (chunked_) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", first_body.size());
    std::string_view pieces[] = {head, {size, static_cast<std::size_t>(n)}, first_body, "\r\n"};
    send_all(pieces, 4);
  } else {
    std::string_view pieces[] = {head, first_body};
    send_all(pieces, 2, ends_connection(first_body.size()));
  }
  body_sent_ += first_body.size();
}

void Connection::write(std::string_view data, bool last) {
  if (aborted_ || client_gone_) throw ClientError("the response was abandoned");
  if (status_.empty()) throw std::logic_error("write before start_response");
  if (content_length_) {
    std::uint64_t room = *content_length_ - std::min(*content_length_, body_sent_);
    if (data.size() > room) data = data.substr(0, room);  // never send past the declared length
  }
  if (!headers_sent_) {
    if (last && !content_length_ && !request_->head) {
      content_length_ = data.size();
      headers_.emplace_back("Content-Length", std::to_string(data.size()));
    }
    send_headers(data);
    return;
  }
  send_body(data);
}

void Connection::send_body(std::string_view data) {
  if (no_body_ || data.empty()) return;
  if (chunked_) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string_view pieces[] = {{size, static_cast<std::size_t>(n)}, data, "\r\n"};
    send_all(pieces, 3);
  } else {
    send_all(&data, 1, ends_connection(data.size()));
  }
  body_sent_ += data.size();
}

std::size_t Connection::send_file(int file, off_t offset, std::size_t count) {
  if (aborted_ || client_gone_) throw ClientError("the response was abandoned");
  if (!headers_sent_) send_headers();
  if (no_body_) return 0;
  struct stat st {};
  if (::fstat(file, &st) < 0 || offset >= st.st_size) return 0;
  count = std::min<std::uint64_t>(count, static_cast<std::uint64_t>(st.st_size - offset));
  if (content_length_) count = std::min<std::uint64_t>(count, *content_length_ - std::min(*content_length_, body_sent_));
  if (count == 0) return 0;
  if (chunked_) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", count);
    std::string_view piece(size, static_cast<std::size_t>(n));
    send_all(&piece, 1);
  }
  flush_out(true);  // sendfile(2) must not overtake bytes still waiting
  std::size_t left = count;
  while (left > 0) {
    ssize_t n = ::sendfile(fd_.get(), file, &offset, left);
    if (n > 0) {
      left -= static_cast<std::size_t>(n);
    } else if (n == 0) {
      break;  // the file shrank under us
    } else if (errno == EAGAIN) {
      wait(POLLOUT, "sending a file");
    } else if (errno != EINTR) {
      client_gone_ = true;
      throw ClientError(std::string("sendfile: ") + std::strerror(errno));
    }
  }
  if (left > 0) {  // framing promised more than the file had
    aborted_ = true;
    throw ClientError("file shorter than announced");
  }
  if (chunked_) {
    std::string_view crlf = "\r\n";
    send_all(&crlf, 1);
  }
  body_sent_ += count;
  return count;
}

bool Connection::finish_response() {
  if (!headers_sent_) {
    if (status_.empty()) return false;  // the app produced nothing at all (already logged)
    if (!content_length_ && !request_->head) {
      content_length_ = 0;
      headers_.emplace_back("Content-Length", "0");
    }
    send_headers();
  }
  if (chunked_) {
    std::string_view last = "0\r\n\r\n";
    send_all(&last, 1, close_after_ && body_done_);
  }
  if (content_length_ && !no_body_ && body_sent_ < *content_length_) return false;  // short body: close
  return true;
}

void Connection::send_simple(int status, std::string_view reason, bool close) {
  std::string body = std::string(reason) + "\n";
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  head += date_header();
  if (close || (request_ && !request_->keep_alive)) {
    head += "Connection: close\r\n";
    close_after_ = true;
  }
  head += "\r\n";
  std::string_view pieces[] = {head, body};
  send_all(pieces, 2, close_after_ && body_done_);
  headers_sent_ = true;
  status_ = std::to_string(status);
  body_sent_ = body.size();
}

}  // namespace suz
