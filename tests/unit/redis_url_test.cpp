#include "core/redis_url.hpp"

#include <gtest/gtest.h>

namespace suz {
namespace {

TEST(RedisUrl, tcp_with_defaults_and_in_full) {
  auto a = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->host, "cache.internal");
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->db, 0);
  EXPECT_EQ(a->queue, "default");
  auto b = parse_redis_url("redis://:s%40cret@10.0.0.5:6380/3/mail.out");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->host, "10.0.0.5");
  EXPECT_EQ(b->port, 6380);
  EXPECT_EQ(b->password, "s@cret");
  EXPECT_EQ(b->db, 3);
  EXPECT_EQ(b->queue, "mail.out");
  EXPECT_EQ(b->str(), "redis://:***@10.0.0.5:6380/3/mail.out") << "the password never shows";
  auto c = parse_redis_url("redis://worker:pw@[::1]:7000/1");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->user, "worker");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->str(), "redis://worker:***@[::1]:7000/1/default");
}

TEST(RedisUrl, unix_socket_with_and_without_db_and_queue) {
  auto a = parse_redis_url("redis+unix:///run/redis/redis.sock");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(a->db, 0);
  auto b = parse_redis_url("redis+unix:///run/redis/redis.sock/2/jobs");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(b->db, 2);
  EXPECT_EQ(b->queue, "jobs");
  auto c = parse_redis_url("redis+unix:///tmp/r.sock/5");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->unix_path, "/tmp/r.sock");
  EXPECT_EQ(c->db, 5);
  EXPECT_EQ(c->str(), "redis+unix:///tmp/r.sock/5/default");
}

TEST(RedisUrl, errors_say_which_part_is_wrong) {
  EXPECT_EQ(parse_redis_url("redis://h:0/0/q").error(), "port \"0\": expected 1-65535");
  EXPECT_EQ(parse_redis_url("redis://h:http/0/q").error(), "port \"http\": expected 1-65535");
  EXPECT_EQ(parse_redis_url("redis://h/x/q").error(), "database \"x\": expected a number");
  EXPECT_EQ(parse_redis_url("redis://h/0/a b").error(), "queue \"a b\": use letters, digits, '_', '.' and '-'");
  EXPECT_EQ(parse_redis_url("redis:///0/q").error(), "no host");
  EXPECT_EQ(parse_redis_url("redis+unix://relative.sock").error(),
            "expected an absolute socket path after redis+unix://");
  EXPECT_EQ(parse_redis_url("redis://:%zz@h").error(), "a bad %-escape in the password");
  EXPECT_FALSE(parse_redis_url("http://h"));
}

}  // namespace
}  // namespace suz
