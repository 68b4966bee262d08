-- ARGV: P, owner, id. The job ran: it goes, even if its claim had expired.
local owner, id = ARGV[2], ARGV[3]
redis.call('ZREM', P .. 'claimed', id)
redis.call('SREM', P .. 'owned:' .. owner, id)
return redis.call('DEL', P .. 'job:' .. id)
