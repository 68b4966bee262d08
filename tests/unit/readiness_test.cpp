// GET /health's answer (vassal/stats.hpp) from a snapshot, with no process.
#include <gtest/gtest.h>

#include "vassal/stats.hpp"

namespace suz {
namespace {

WorkerSnapshot worker(int id, std::string_view state) {
  WorkerSnapshot w;
  w.id = id;
  w.state = state;
  return w;
}

TEST(Readiness, ok_when_each_wanted_slot_has_a_serving_worker_successors_and_retiring_ones_aside) {
  VassalSnapshot s;
  s.workers_wanted = 2;
  s.workers = {worker(1, "serving"), worker(1, "starting"), worker(2, "retiring"), worker(2, "serving")};
  EXPECT_EQ(readiness(s).status, 200);
  EXPECT_EQ(readiness(s).reason, "ok");
}

TEST(Readiness, starting_before_anything_served_short_of_capacity_after_and_stopping_above_all) {
  VassalSnapshot s;
  s.workers_wanted = 3;
  s.workers = {worker(1, "serving"), worker(2, "starting"), worker(3, "killing")};
  EXPECT_EQ(readiness(s).status, 503);
  EXPECT_EQ(readiness(s).reason, "starting: 1 of 3 workers serving");
  s.requests = 10;
  EXPECT_EQ(readiness(s).reason, "short of capacity: 1 of 3 workers serving");
  s.stopping = true;
  EXPECT_EQ(readiness(s).reason, "stopping");
}

}  // namespace
}  // namespace suz
