-- ARGV: P, id. Returns {state, priority, at, attempts, owner} or {}.
local id = ARGV[2]
local f = redis.call('HMGET', P .. 'job:' .. id, 'p', 't', 'a', 'o')
if not f[1] then return {} end
local state = 'queued'
if redis.call('ZSCORE', P .. 'claimed', id) then state = 'claimed'
elseif redis.call('ZSCORE', P .. 'failed', id) then state = 'failed' end
return {state, f[1], f[2], f[3], f[4] or ''}
