-- Prepended to every script of the Redis spool (spooler/redis_scripts.hpp):
-- P, the queue's key prefix; now, the server's clock in ms; score(), the
-- ready set's order; requeue(), a claimed job back to the queue or to failed.
local P = ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function score(p, t) return (999 - tonumber(p)) * 4398046511104 + tonumber(t) end
local function requeue(id, why, max)
  local key = P .. 'job:' .. id
  redis.call('ZREM', P .. 'claimed', id)
  local f = redis.call('HMGET', key, 'p', 't', 'o')
  if not f[1] then return 0 end
  if f[3] then redis.call('SREM', P .. 'owned:' .. f[3], id) end
  redis.call('HDEL', key, 'o')
  local a = redis.call('HINCRBY', key, 'a', 1)
  if a >= max then
    redis.call('HSET', key, 'f', why)
    redis.call('ZADD', P .. 'failed', now, id)
    return 2
  end
  redis.call('HSET', key, 'e', why)
  redis.call('ZADD', P .. 'ready', score(f[1], f[2]), id)
  return 1
end
