-- ARGV: P, owner, why, max_attempts. Every job owner holds back to the
-- queue (or to failed). Returns {requeued, failed}.
local owner, why, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local counts = {0, 0}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'owned:' .. owner)) do
  local r = requeue(id, why, max)
  if r > 0 then counts[r] = counts[r] + 1 end
end
redis.call('DEL', P .. 'owned:' .. owner)
if counts[1] > 0 then redis.call('PUBLISH', P .. 'wake', counts[1]) end
return counts
