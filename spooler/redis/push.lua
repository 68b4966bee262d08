-- ARGV: P, then per job: id, data, priority, at (0: now). Returns how many
-- are due now.
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
