#include "core/units.hpp"

#include <gtest/gtest.h>

namespace suz {
namespace {

using namespace std::chrono_literals;

TEST(Units, durations_in_every_unit) {
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("2s"), 2s);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("3m"), 180s);
  EXPECT_EQ(*parse_duration("1h"), 3600s);
  EXPECT_EQ(*parse_duration("1d"), 86400s);
  EXPECT_EQ(*parse_duration(" 30 "), 30s);  // bare number: seconds
  EXPECT_EQ(*parse_duration("0"), 0ms);
  EXPECT_EQ(*parse_duration("200MS"), 200ms);
  EXPECT_EQ(*parse_duration("10 min"), 600s);
}

TEST(Units, bad_durations_are_rejected_with_the_text_in_the_message) {
  for (const char* bad : {"", "s", "-1s", "1e3s", "5 parsecs", "1h30m", "1..5s", "abc", "9999999999999999d"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_NE(d.error().find(std::string("\"") + bad + "\""), std::string::npos) << d.error();
  }
}

TEST(Units, sizes_are_powers_of_1024) {
  EXPECT_EQ(*parse_size("512MB"), 512ull << 20);
  EXPECT_EQ(*parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_size("64K"), 64ull << 10);
  EXPECT_EQ(*parse_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_size("2t"), 2ull << 40);
  EXPECT_EQ(*parse_size("1048576"), 1048576ull);
  EXPECT_EQ(*parse_size("0"), 0ull);
  EXPECT_EQ(*parse_size("100B"), 100ull);
}

TEST(Units, bad_sizes_are_rejected) {
  for (const char* bad : {"", "MB", "-5MB", "12 lightyears", "1.2.3K", "0x10"})
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
}

TEST(Units, formatting_is_exact_and_short) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(3600s), "1h");
  EXPECT_EQ(format_size(100), "100B");
  EXPECT_EQ(format_size(512ull << 20), "512MiB");
  EXPECT_EQ(format_size(3ull << 29), "1.5GiB");
}

}  // namespace
}  // namespace suz
