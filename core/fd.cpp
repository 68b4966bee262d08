#include "core/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace suz {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // close(2) may fail with EINTR; the fd is gone either way on Linux
  fd_ = fd;
}

void Fd::set_cloexec(bool on) const {
  int flags = ::fcntl(fd_, F_GETFD);
  if (flags < 0 || ::fcntl(fd_, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) < 0)
    throw std::system_error(errno, std::generic_category(), "fcntl(F_SETFD)");
}

void Fd::set_nonblocking(bool on) const {
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0)
    throw std::system_error(errno, std::generic_category(), "fcntl(F_SETFL)");
}

Pipe make_pipe(int extra_flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | extra_flags) < 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

bool write_all(int fd, const void* buf, std::size_t len) noexcept {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace suz
