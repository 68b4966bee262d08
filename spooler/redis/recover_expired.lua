-- ARGV: P, why, max_attempts. Claims past their deadline back to the queue
-- (or to failed). Returns {requeued, failed}.
local why, max = ARGV[2], tonumber(ARGV[3])
local counts = {0, 0}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'claimed', '-inf', now, 'LIMIT', 0, 1000)) do
  local r = requeue(id, why, max)
  if r > 0 then counts[r] = counts[r] + 1 end
end
if counts[1] > 0 then redis.call('PUBLISH', P .. 'wake', counts[1]) end
return counts
