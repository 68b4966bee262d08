-- ARGV: P, visibility (ms), owners... Their claims expire `visibility` from
-- now. Returns how many claims were renewed.
local deadline = now + tonumber(ARGV[2])
local n = 0
for i = 3, #ARGV do
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'owned:' .. ARGV[i])) do
    n = n + redis.call('ZADD', P .. 'claimed', 'XX', 'CH', deadline, id)
  end
end
return n
