-- ARGV: P, owner, id, delay (ms), error. Only if owner still holds it (an
-- expired claim was already put back, with its attempt counted). Returns 1
-- if it did.
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
