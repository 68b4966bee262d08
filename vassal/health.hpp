#pragma once
// The master's health checks of one child, as a verdict: they read what the
// child wrote into the scoreboard (and the RSS the caller sampled) and
// decide; acting on the verdict (a stack dump, a kill, a replacement) is the
// master's. In order: a request (or job) past harakiri, an ASGI event loop
// that has not turned for harakiri (or, with harakiri off, the heartbeat
// timeout: a coroutine or callback blocks it), then, for a child not
// retiring, a heartbeat older than the timeout while idle (a long request
// is not a stopped loop), then RSS over max_rss.
#include <cstdint>
#include <optional>
#include <string>

#include "core/units.hpp"
#include "vassal/scoreboard.hpp"

namespace suz {

struct HealthLimits {
  Duration harakiri{0};              // 0: off
  std::uint64_t max_rss = 0;         // bytes; 0: off
  std::int64_t heartbeat_timeout_ms = 30000;
};

struct Verdict {
  enum class Kind { kHealthy, kHarakiri, kLoopBlocked, kNoHeartbeat, kOverRss };
  Kind kind = Kind::kHealthy;
  std::string request;  // kHarakiri: the stuck request ("GET /x"), on thread (1-based)
  int thread = 0;
  Duration ran{0};      // kHarakiri: how long it ran; kLoopBlocked, kNoHeartbeat: how long the silence
  Duration limit{0};    // kLoopBlocked: the bound it passed
  std::uint64_t rss = 0;  // kOverRss

  bool healthy() const { return kind == Kind::kHealthy; }
};

// rss: the child's resident size if sampled this round (nullopt: not due).
Verdict check_health(const Scoreboard& board, int record, bool retiring, std::int64_t now_ms,
                     const HealthLimits& limits, std::optional<std::uint64_t> rss);

}  // namespace suz
