-- ARGV: P, state ("queued", "claimed", "failed"). Returns a flat list of
-- id, priority, at, attempts, owner per job, in run order.
local sets = {queued = {'ready', 'delayed'}, claimed = {'claimed'}, failed = {'failed'}}
local out = {}
for _, set in ipairs(sets[ARGV[2]]) do
  for _, id in ipairs(redis.call('ZRANGE', P .. set, 0, -1)) do
    local f = redis.call('HMGET', P .. 'job:' .. id, 'p', 't', 'a', 'o')
    if f[1] then
      table.insert(out, id); table.insert(out, f[1]); table.insert(out, f[2])
      table.insert(out, f[3]); table.insert(out, f[4] or '')
    end
  end
end
return out
