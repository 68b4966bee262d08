-- ARGV: P, id. Returns 1 if the job existed.
local id = ARGV[2]
local key = P .. 'job:' .. id
local owner = redis.call('HGET', key, 'o')
if owner then redis.call('SREM', P .. 'owned:' .. owner, id) end
for _, set in ipairs({'ready', 'delayed', 'claimed', 'failed'}) do redis.call('ZREM', P .. set, id) end
return redis.call('DEL', key)
