#include "spooler/retry_backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace suz {
namespace {

using std::chrono::milliseconds;

TEST(RetryBackoff, doubles_from_a_tenth_of_a_second_up_to_its_ceiling_and_a_success_starts_over) {
  RetryBackoff b(milliseconds(300));
  EXPECT_EQ(b.remaining().count(), 0) << "nothing failed yet: try now";
  std::vector<long> waits;
  for (int i = 0; i < 4; ++i) {
    b.failed();
    waits.push_back(static_cast<long>(b.wait().count()));
    EXPECT_LE(b.remaining(), b.wait());
  }
  EXPECT_EQ(waits, (std::vector<long>{100, 200, 300, 300}));
  b.succeeded();
  EXPECT_EQ(b.wait().count(), 0);
  EXPECT_EQ(b.remaining().count(), 0) << "a success: try now";
  b.failed();
  EXPECT_EQ(b.wait().count(), 100) << "and start over";
}

}  // namespace
}  // namespace suz
