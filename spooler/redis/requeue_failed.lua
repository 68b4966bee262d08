-- ARGV: P, id. A failed job back to the queue, attempts reset, due now.
local id = ARGV[2]
if redis.call('ZREM', P .. 'failed', id) == 0 then return 0 end
local key = P .. 'job:' .. id
redis.call('HSET', key, 'a', 0, 't', now)
redis.call('HDEL', key, 'f')
redis.call('ZADD', P .. 'ready', score(redis.call('HGET', key, 'p'), now), id)
redis.call('PUBLISH', P .. 'wake', 1)
return 1
