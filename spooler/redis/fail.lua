-- ARGV: P, owner, id, error. To failed, the attempt counted. Returns 1 if
-- owner still held it.
local owner, id, err = ARGV[2], ARGV[3], ARGV[4]
if redis.call('SREM', P .. 'owned:' .. owner, id) == 0 then return 0 end
local key = P .. 'job:' .. id
redis.call('ZREM', P .. 'claimed', id)
redis.call('HDEL', key, 'o')
redis.call('HINCRBY', key, 'a', 1)
redis.call('HSET', key, 'f', err)
redis.call('ZADD', P .. 'failed', now, id)
return 1
