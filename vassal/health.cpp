#include "vassal/health.hpp"

namespace suz {

Verdict check_health(const Scoreboard& board, int record, bool retiring, std::int64_t now_ms,
                     const HealthLimits& limits, std::optional<std::uint64_t> rss) {
  Verdict v;
  bool busy = false;
  for (int t = 0; t < board.threads(); ++t) {
    auto in_flight = board.in_flight(record, t);
    if (!in_flight) continue;
    busy = true;
    Duration ran(now_ms - in_flight->started_ms);
    if (limits.harakiri.count() > 0 && ran > limits.harakiri) {
      v.kind = Verdict::Kind::kHarakiri;
      v.request = in_flight->request;
      v.thread = t + 1;
      v.ran = ran;
      return v;
    }
  }
  if (std::int64_t turned = board.process(record).loop_turn_ms.load(); turned > 0) {
    Duration still(now_ms - turned);
    Duration bound = limits.harakiri.count() > 0 ? limits.harakiri : Duration(limits.heartbeat_timeout_ms);
    if (still > bound) {
      v.kind = Verdict::Kind::kLoopBlocked;
      v.ran = still;
      v.limit = bound;
      return v;
    }
  }
  if (retiring) return v;  // stopping anyway: only a stuck request matters
  std::int64_t silent = now_ms - board.process(record).heartbeat_ms.load();
  if (!busy && silent > limits.heartbeat_timeout_ms) {
    v.kind = Verdict::Kind::kNoHeartbeat;
    v.ran = Duration(silent);
    return v;
  }
  if (limits.max_rss > 0 && rss && *rss > limits.max_rss) {
    v.kind = Verdict::Kind::kOverRss;
    v.rss = *rss;
  }
  return v;
}

}  // namespace suz
