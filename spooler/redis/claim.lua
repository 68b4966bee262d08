-- ARGV: P, owner, visibility (ms)[, id]. First removes job `id` if given
-- (the one this consumer just finished: its acknowledgement rides on the
-- next claim, one round trip and one fsync of Redis' log instead of two).
-- A consumer asks only when it holds no job, so a job still in its set is
-- one whose claim reply it never got (the connection broke): that job is
-- returned first, not stranded. Then moves due delayed jobs into ready and
-- claims the first. Returns {id, data, priority, at, attempts, last error};
-- {ms} until the next delayed job is due; or {} when nothing waits.
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
