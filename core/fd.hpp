#pragma once
// Move-only owners of file descriptors. Every fd we create is O_CLOEXEC;
// letting a child inherit one is an explicit act at the spawn site.
#include <utility>

namespace suz {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  // Gives up ownership; the caller closes it.
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

  // Clears or sets FD_CLOEXEC (to hand an fd to an exec'd child on purpose).
  void set_cloexec(bool on) const;
  void set_nonblocking(bool on) const;

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// pipe2(O_CLOEXEC | extra_flags); throws std::system_error.
Pipe make_pipe(int extra_flags = 0);

// Writes all of buf, retrying on EINTR and short writes. Async-signal-safe;
// returns false on error (errno set).
bool write_all(int fd, const void* buf, std::size_t len) noexcept;

}  // namespace suz
