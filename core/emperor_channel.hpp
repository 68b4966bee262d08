#pragma once
// The contract between the emperor and each vassal master it starts, for
// both ends to include (emperor/vassal*.cpp, vassal/emperor_link.cpp, the
// master's stop): a word or a deadline changed here changes for both.
//
// The channel is a SOCK_SEQPACKET socket pair, one message per packet. The
// master's end is inherited as the fd named by kFdVariable; it sends a
// heartbeat every kHeartbeatVariable seconds.
//   master -> emperor: kReady (every worker serving; again after a reload),
//                      kReloading, kStopping, kHeartbeat, kReloadMe (the
//                      master got HUP: load the file again, as on a touch)
//   emperor -> master: kStop (graceful), kQuickStop
// The end of the channel means the other side is gone.
#include <string_view>

#include "core/units.hpp"

namespace suz::emperor_channel {

inline constexpr std::string_view kReady = "ready";
inline constexpr std::string_view kReloading = "reloading";
inline constexpr std::string_view kStopping = "stopping";
inline constexpr std::string_view kHeartbeat = "heartbeat";
inline constexpr std::string_view kReloadMe = "reload-me";
inline constexpr std::string_view kStop = "stop";
inline constexpr std::string_view kQuickStop = "quick-stop";

inline constexpr const char* kFdVariable = "SUZERAIN_EMPEROR_FD";
inline constexpr const char* kHeartbeatVariable = "SUZERAIN_EMPEROR_HEARTBEAT";
inline constexpr std::string_view kVariablePrefix = "SUZERAIN_EMPEROR_";  // every variable of ours

// Stopping, in seconds. A master told to stop gracefully SIGKILLs its
// children graceful_timeout + kChildKillGrace later (quickly: kChildKillGrace
// after). The emperor, which must not kill a master still killing its
// children, waits a few seconds more before it SIGKILLs the master.
inline constexpr double kChildKillGrace = 1.0;
inline constexpr double kMasterExitGrace = 4.0;

inline double child_kill_after(Duration graceful_timeout, bool graceful) {
  return (graceful ? to_seconds(graceful_timeout) : 0.0) + kChildKillGrace;
}
inline double master_kill_after(Duration graceful_timeout, bool graceful) {
  return child_kill_after(graceful_timeout, graceful) + kMasterExitGrace;
}

}  // namespace suz::emperor_channel
