#pragma once
// The contract between a standalone master reloading on HUP and the new
// master it starts for the new code and config (vassal/successor.cpp holds
// both ends). The channel is a SOCK_SEQPACKET pair, like the emperor's; the
// new master's end is the fd named by kFdVariable.
//   new -> old: kReady once every worker of the new master serves; from
//               then on the new master owns the service (it tells systemd
//               its MAINPID) and the old one drains and exits
//   old -> new: nothing; its end closes when it exits
// The end of the channel tells the new master nothing: its predecessor
// leaving is the plan.
#include <string_view>

namespace suz::successor_channel {

inline constexpr std::string_view kReady = "ready";
inline constexpr const char* kFdVariable = "SUZERAIN_PREDECESSOR_FD";

}  // namespace suz::successor_channel
