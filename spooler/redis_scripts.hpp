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

namespace suz::redis_scripts {

#define SUZ_LUA_COMMON                                                     \
  "local P = ARGV[1]\n"                                                    \
  "local clock = redis.call('TIME')\n"                                     \
  "local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n" \
  "local function score(p, t) return (999 - tonumber(p)) * 4398046511104 + tonumber(t) end\n" \
  "local function requeue(id, why, max)\n"                                 \
  "  local key = P .. 'job:' .. id\n"                                      \
  "  redis.call('ZREM', P .. 'claimed', id)\n"                             \
  "  local f = redis.call('HMGET', key, 'p', 't', 'o')\n"                  \
  "  if not f[1] then return 0 end\n"                                      \
  "  if f[3] then redis.call('SREM', P .. 'owned:' .. f[3], id) end\n"     \
  "  redis.call('HDEL', key, 'o')\n"                                       \
  "  local a = redis.call('HINCRBY', key, 'a', 1)\n"                       \
  "  if a >= max then\n"                                                   \
  "    redis.call('HSET', key, 'f', why)\n"                                \
  "    redis.call('ZADD', P .. 'failed', now, id)\n"                       \
  "    return 2\n"                                                         \
  "  end\n"                                                                \
  "  redis.call('HSET', key, 'e', why)\n"                                  \
  "  redis.call('ZADD', P .. 'ready', score(f[1], f[2]), id)\n"            \
  "  return 1\n"                                                           \
  "end\n"

// ARGV: P, then per job: id, data, priority, at (0: now). Returns how many
// are due now.
inline constexpr RedisScript kPush{"push", SUZ_LUA_COMMON R"(
local due = 0
for i = 2, #ARGV, 4 do
  local id, p, t = ARGV[i], ARGV[i + 2], tonumber(ARGV[i + 3])
  if t == 0 then t = now end
  redis.call('HSET', P .. 'job:' .. id, 'd', ARGV[i + 1], 'p', p, 't', t, 'a', 0)
  if t > now then
    redis.call('ZADD', P .. 'delayed', t, id)
  else
    redis.call('ZADD', P .. 'ready', score(p, t), id)
    due = due + 1
  end
end
redis.call('PUBLISH', P .. 'wake', due)
return due
)"};

// ARGV: P, owner, visibility (ms)[, id]. First removes job `id` if given
// (the one this consumer just finished: its acknowledgement rides on the
// next claim, one round trip and one fsync of Redis' log instead of two).
// A consumer asks only when it holds no job, so a job still in its set is
// one whose claim reply it never got (the connection broke): that job is
// returned first, not stranded. Then moves due delayed jobs into ready and
// claims the first. Returns {id, data, priority, at, attempts, last error};
// {ms} until the next delayed job is due; or {} when nothing waits.
inline constexpr RedisScript kClaim{"claim", SUZ_LUA_COMMON R"(
local owner, visibility = ARGV[2], tonumber(ARGV[3])
if ARGV[4] then
  redis.call('ZREM', P .. 'claimed', ARGV[4])
  redis.call('SREM', P .. 'owned:' .. owner, ARGV[4])
  redis.call('DEL', P .. 'job:' .. ARGV[4])
end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'owned:' .. owner)) do
  local f = redis.call('HMGET', P .. 'job:' .. id, 'd', 'p', 't', 'a', 'e')
  if f[1] then
    redis.call('ZADD', P .. 'claimed', now + visibility, id)
    return {id, f[1], f[2], f[3], f[4], f[5] or ''}
  end
  redis.call('SREM', P .. 'owned:' .. owner, id)
end
local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'delayed', id)
  local f = redis.call('HMGET', P .. 'job:' .. id, 'p', 't')
  if f[1] then redis.call('ZADD', P .. 'ready', score(f[1], f[2]), id) end
end
while true do
  local top = redis.call('ZPOPMIN', P .. 'ready')
  if #top == 0 then
    local nxt = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
    if #nxt == 0 then return {} end
    return {math.max(0, tonumber(nxt[2]) - now)}
  end
  local id = top[1]
  local key = P .. 'job:' .. id
  local f = redis.call('HMGET', key, 'd', 'p', 't', 'a', 'e')
  if f[1] then
    redis.call('ZADD', P .. 'claimed', now + visibility, id)
    redis.call('SADD', P .. 'owned:' .. owner, id)
    redis.call('HSET', key, 'o', owner)
    return {id, f[1], f[2], f[3], f[4], f[5] or ''}
  end
end
)"};

// ARGV: P, owner, id. The job ran: it goes, even if its claim had expired.
inline constexpr RedisScript kDone{"done", SUZ_LUA_COMMON R"(
local owner, id = ARGV[2], ARGV[3]
redis.call('ZREM', P .. 'claimed', id)
redis.call('SREM', P .. 'owned:' .. owner, id)
return redis.call('DEL', P .. 'job:' .. id)
)"};

// ARGV: P, owner, id, delay (ms), error. Only if owner still holds it (an
// expired claim was already put back, with its attempt counted). Returns 1
// if it did.
inline constexpr RedisScript kRetry{"retry", SUZ_LUA_COMMON R"(
local owner, id, delay, err = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
if redis.call('SREM', P .. 'owned:' .. owner, id) == 0 then return 0 end
local key = P .. 'job:' .. id
redis.call('ZREM', P .. 'claimed', id)
redis.call('HDEL', key, 'o')
redis.call('HINCRBY', key, 'a', 1)
local t = now + math.max(0, delay)
redis.call('HSET', key, 't', t, 'e', err)
if delay > 0 then
  redis.call('ZADD', P .. 'delayed', t, id)
else
  redis.call('ZADD', P .. 'ready', score(redis.call('HGET', key, 'p'), t), id)
end
redis.call('PUBLISH', P .. 'wake', 1)
return 1
)"};

// ARGV: P, owner, id, error. To failed, the attempt counted. Returns 1 if
// owner still held it.
inline constexpr RedisScript kFail{"fail", SUZ_LUA_COMMON R"(
local owner, id, err = ARGV[2], ARGV[3], ARGV[4]
if redis.call('SREM', P .. 'owned:' .. owner, id) == 0 then return 0 end
local key = P .. 'job:' .. id
redis.call('ZREM', P .. 'claimed', id)
redis.call('HDEL', key, 'o')
redis.call('HINCRBY', key, 'a', 1)
redis.call('HSET', key, 'f', err)
redis.call('ZADD', P .. 'failed', now, id)
return 1
)"};

// ARGV: P, owner, why, max_attempts. Every job owner holds back to the
// queue (or to failed). Returns {requeued, failed}.
inline constexpr RedisScript kRecoverOwner{"recover", SUZ_LUA_COMMON R"(
local owner, why, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local counts = {0, 0}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'owned:' .. owner)) do
  local r = requeue(id, why, max)
  if r > 0 then counts[r] = counts[r] + 1 end
end
redis.call('DEL', P .. 'owned:' .. owner)
if counts[1] > 0 then redis.call('PUBLISH', P .. 'wake', counts[1]) end
return counts
)"};

// ARGV: P, why, max_attempts. Claims past their deadline back to the queue
// (or to failed). Returns {requeued, failed}.
inline constexpr RedisScript kRecoverExpired{"recover expired", SUZ_LUA_COMMON R"(
local why, max = ARGV[2], tonumber(ARGV[3])
local counts = {0, 0}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'claimed', '-inf', now, 'LIMIT', 0, 1000)) do
  local r = requeue(id, why, max)
  if r > 0 then counts[r] = counts[r] + 1 end
end
if counts[1] > 0 then redis.call('PUBLISH', P .. 'wake', counts[1]) end
return counts
)"};

// ARGV: P, visibility (ms), owners... Their claims expire `visibility` from
// now. Returns how many claims were renewed.
inline constexpr RedisScript kKeepClaims{"keep claims", SUZ_LUA_COMMON R"(
local deadline = now + tonumber(ARGV[2])
local n = 0
for i = 3, #ARGV do
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'owned:' .. ARGV[i])) do
    n = n + redis.call('ZADD', P .. 'claimed', 'XX', 'CH', deadline, id)
  end
end
return n
)"};

// ARGV: P, state ("queued", "claimed", "failed"). Returns a flat list of
// id, priority, at, attempts, owner per job, in run order.
inline constexpr RedisScript kList{"list", SUZ_LUA_COMMON R"(
local sets = {queued = {'ready', 'delayed'}, claimed = {'claimed'}, failed = {'failed'}}
local out = {}
for _, set in ipairs(sets[ARGV[2]]) do
  for _, id in ipairs(redis.call('ZRANGE', P .. set, 0, -1)) do
    local f = redis.call('HMGET', P .. 'job:' .. id, 'p', 't', 'a', 'o')
    if f[1] then
      table.insert(out, id); table.insert(out, f[1]); table.insert(out, f[2])
      table.insert(out, f[3]); table.insert(out, f[4] or '')
    end
  end
end
return out
)"};

// ARGV: P, id. Returns {state, priority, at, attempts, owner} or {}.
inline constexpr RedisScript kFind{"find", SUZ_LUA_COMMON R"(
local id = ARGV[2]
local f = redis.call('HMGET', P .. 'job:' .. id, 'p', 't', 'a', 'o')
if not f[1] then return {} end
local state = 'queued'
if redis.call('ZSCORE', P .. 'claimed', id) then state = 'claimed'
elseif redis.call('ZSCORE', P .. 'failed', id) then state = 'failed' end
return {state, f[1], f[2], f[3], f[4] or ''}
)"};

// ARGV: P, id. Returns 1 if the job existed.
inline constexpr RedisScript kRemove{"remove", SUZ_LUA_COMMON R"(
local id = ARGV[2]
local key = P .. 'job:' .. id
local owner = redis.call('HGET', key, 'o')
if owner then redis.call('SREM', P .. 'owned:' .. owner, id) end
for _, set in ipairs({'ready', 'delayed', 'claimed', 'failed'}) do redis.call('ZREM', P .. set, id) end
return redis.call('DEL', key)
)"};

// ARGV: P, id. A failed job back to the queue, attempts reset, due now.
inline constexpr RedisScript kRequeueFailed{"requeue failed", SUZ_LUA_COMMON R"(
local id = ARGV[2]
if redis.call('ZREM', P .. 'failed', id) == 0 then return 0 end
local key = P .. 'job:' .. id
redis.call('HSET', key, 'a', 0, 't', now)
redis.call('HDEL', key, 'f')
redis.call('ZADD', P .. 'ready', score(redis.call('HGET', key, 'p'), now), id)
redis.call('PUBLISH', P .. 'wake', 1)
return 1
)"};

#undef SUZ_LUA_COMMON

}  // namespace suz::redis_scripts
