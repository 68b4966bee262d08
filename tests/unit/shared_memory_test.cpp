#include "core/shared_memory.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>

#include "core/fork.hpp"
#include "tests/support/process.hpp"

namespace suz {
namespace {

using namespace std::chrono_literals;

TEST(SharedMemory, is_zero_filled_and_shared_with_a_forked_child) {
  SharedMemory mem(4096);
  auto* counter = static_cast<std::atomic<int>*>(mem.data());
  EXPECT_EQ(counter->load(), 0);
  ForkHooks none;
  pid_t pid = fork_process(none, [&] {
    counter->store(42);
    return ExitCode::kOk;
  });
  ASSERT_TRUE(test::wait_exit(pid, 5s).has_value());
  EXPECT_EQ(counter->load(), 42);
}

TEST(SharedMemory, moving_transfers_the_mapping) {
  SharedMemory a(4096);
  void* p = a.data();
  SharedMemory b = std::move(a);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 4096u);
}

}  // namespace
}  // namespace suz
