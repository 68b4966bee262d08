// The request metrics (vassal/request_metrics.hpp) and how the stats
// endpoint shows them.
#include "vassal/request_metrics.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vassal/stats.hpp"

namespace suz {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(RequestMetrics, a_duration_lands_in_the_first_bucket_whose_bound_it_does_not_pass) {
  RequestCounters c;
  c.count(200, microseconds(500));   // <= 1 ms
  c.count(200, milliseconds(1));     // == 1 ms: le is inclusive
  c.count(200, microseconds(1001));  // <= 2.5 ms
  c.count(200, std::chrono::seconds(31));  // +Inf
  EXPECT_EQ(c.buckets[0], 2u);
  EXPECT_EQ(c.buckets[1], 1u);
  EXPECT_EQ(c.buckets.back(), 1u);
  EXPECT_EQ(c.duration_ns, 500'000u + 1'000'000u + 1'001'000u + 31'000'000'000u);
}

TEST(RequestMetrics, statuses_are_counted_by_code_and_nonsense_codes_not_at_all) {
  RequestCounters c;
  for (int s : {200, 200, 404, 499, 599, 99, 600, 0}) c.count(s, microseconds(1));
  EXPECT_EQ(c.responses[200 - kFirstStatus], 2u);
  EXPECT_EQ(c.responses[404 - kFirstStatus], 1u);
  EXPECT_EQ(c.responses[599 - kFirstStatus], 1u);
  RequestTotals t;
  t.add(c);
  EXPECT_EQ(t.count(), 8u) << "every request is timed, whatever its code";
}

TEST(RequestMetrics, prometheus_and_json_show_a_cumulative_histogram_and_codes) {
  RequestCounters a, b;
  a.count(200, microseconds(800));
  b.count(200, milliseconds(40));
  b.count(503, milliseconds(2000));
  VassalSnapshot s;
  s.vassal = "shop";
  s.traffic.add(a);
  RequestTotals retired;
  retired.add(b);
  s.traffic.add(retired);

  std::string p = stats_prometheus(s);
  EXPECT_NE(p.find("# TYPE suzerain_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(p.find("suzerain_request_duration_seconds_bucket{vassal=\"shop\",le=\"0.001\"} 1\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_request_duration_seconds_bucket{vassal=\"shop\",le=\"0.05\"} 2\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_request_duration_seconds_bucket{vassal=\"shop\",le=\"2.5\"} 3\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_request_duration_seconds_bucket{vassal=\"shop\",le=\"+Inf\"} 3\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_request_duration_seconds_count{vassal=\"shop\"} 3\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_request_duration_seconds_sum{vassal=\"shop\"} 2.040800\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_responses_total{vassal=\"shop\",code=\"200\"} 2\n"), std::string::npos) << p;
  EXPECT_NE(p.find("suzerain_responses_total{vassal=\"shop\",code=\"503\"} 1\n"), std::string::npos) << p;
  EXPECT_EQ(p.find("code=\"404\""), std::string::npos) << "codes never seen are not listed";

  auto j = nlohmann::json::parse(stats_json(s));
  EXPECT_EQ(j["responses"]["200"], 2);
  EXPECT_EQ(j["request_duration_seconds"]["count"], 3);
  EXPECT_EQ(j["request_duration_seconds"]["buckets"][0]["le"], 0.001);
  EXPECT_EQ(j["request_duration_seconds"]["buckets"][0]["count"], 1);
  EXPECT_EQ(j["request_duration_seconds"]["buckets"].back()["le"], "+Inf");
}

}  // namespace
}  // namespace suz
