#pragma once
// The Redis spool's moves, each one Lua script so it is atomic on the
// server: a job is in exactly one of the queue's sets at any moment.
//
// Keys, for a queue Q (P = "suz:{Q}:"):
//   P.."job:"..ID    HASH  d = encode_job() bytes, p = priority, t = not
//                          before (ms), a = attempts so far, e = the last
//                          attempt's error, o = its claimer, f = why it failed
//   P.."ready"       ZSET  due jobs; score = (999 - p) * 2^42 + t: highest
//                          priority first, then oldest (exact in a double)
//   P.."delayed"     ZSET  jobs not yet due; score = t
//   P.."claimed"     ZSET  jobs being run; score = when the claim expires
//   P.."owned:"..OWNER SET the jobs a claimer holds
//   P.."failed"      ZSET  jobs past max_attempts; score = when
//   P.."wake"        channel: a message per push, retry or recovery
//
// Every script takes P as ARGV[1] and reads the time from the server, so
// hosts with skewed clocks agree on deadlines. The keys are built inside
// the scripts: this works on a single Redis (and its replicas), not on
// Redis Cluster.
#include "spooler/redis_connection.hpp"
#include "spooler/redis/push_lua.hpp"
#include "spooler/redis/claim_lua.hpp"
#include "spooler/redis/done_lua.hpp"
#include "spooler/redis/retry_lua.hpp"
#include "spooler/redis/fail_lua.hpp"
#include "spooler/redis/recover_owner_lua.hpp"
#include "spooler/redis/recover_expired_lua.hpp"
#include "spooler/redis/keep_claims_lua.hpp"
#include "spooler/redis/list_lua.hpp"
#include "spooler/redis/find_lua.hpp"
#include "spooler/redis/remove_lua.hpp"
#include "spooler/redis/requeue_failed_lua.hpp"
#include "spooler/redis/common_lua.hpp"

namespace suz::redis_scripts {

// Each one is spooler/redis/common.lua, then its own file there (which says
// what it takes and returns), built in by cmake/EmbedText.cmake.
inline constexpr RedisScript kPush{"push", embedded::kLuaCommon, embedded::kLuaPush};
inline constexpr RedisScript kClaim{"claim", embedded::kLuaCommon, embedded::kLuaClaim};
inline constexpr RedisScript kDone{"done", embedded::kLuaCommon, embedded::kLuaDone};
inline constexpr RedisScript kRetry{"retry", embedded::kLuaCommon, embedded::kLuaRetry};
inline constexpr RedisScript kFail{"fail", embedded::kLuaCommon, embedded::kLuaFail};
inline constexpr RedisScript kRecoverOwner{"recover", embedded::kLuaCommon, embedded::kLuaRecoverOwner};
inline constexpr RedisScript kRecoverExpired{"recover expired", embedded::kLuaCommon, embedded::kLuaRecoverExpired};
inline constexpr RedisScript kKeepClaims{"keep claims", embedded::kLuaCommon, embedded::kLuaKeepClaims};
inline constexpr RedisScript kList{"list", embedded::kLuaCommon, embedded::kLuaList};
inline constexpr RedisScript kFind{"find", embedded::kLuaCommon, embedded::kLuaFind};
inline constexpr RedisScript kRemove{"remove", embedded::kLuaCommon, embedded::kLuaRemove};
inline constexpr RedisScript kRequeueFailed{"requeue failed", embedded::kLuaCommon, embedded::kLuaRequeueFailed};

}  // namespace suz::redis_scripts
