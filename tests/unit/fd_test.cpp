#include "core/fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace suz {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(Fd, closes_on_destruction) {
  int raw;
  {
    Pipe p = make_pipe();
    raw = p.read.get();
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, move_transfers_ownership_and_release_gives_it_up) {
  Pipe p = make_pipe();
  int raw = p.read.get();
  Fd moved = std::move(p.read);
  EXPECT_FALSE(p.read.valid());
  EXPECT_EQ(moved.get(), raw);
  int released = moved.release();
  EXPECT_FALSE(moved.valid());
  EXPECT_TRUE(is_open(released));
  ::close(released);
}

TEST(Fd, move_assignment_closes_the_previous_fd) {
  Pipe a = make_pipe(), b = make_pipe();
  int old = a.read.get();
  a.read = std::move(b.read);
  EXPECT_FALSE(is_open(old));
}

TEST(Fd, pipes_are_close_on_exec_unless_asked) {
  Pipe p = make_pipe();
  EXPECT_TRUE(::fcntl(p.read.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(p.write.get(), F_GETFD) & FD_CLOEXEC);
  p.write.set_cloexec(false);
  EXPECT_FALSE(::fcntl(p.write.get(), F_GETFD) & FD_CLOEXEC);
}

TEST(Fd, write_all_writes_more_than_one_pipe_buffer_in_pieces) {
  Pipe p = make_pipe();
  std::string big(200000, 'x');
  std::thread writer([&] { EXPECT_TRUE(write_all(p.write.get(), big.data(), big.size())); p.write.reset(); });
  std::string got;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(p.read.get(), buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  writer.join();
  EXPECT_EQ(got, big);
}

TEST(Fd, write_all_reports_a_closed_reader) {
  Pipe p = make_pipe();
  p.read.reset();
  signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(write_all(p.write.get(), "x", 1));
  EXPECT_EQ(errno, EPIPE);
}

}  // namespace
}  // namespace suz
