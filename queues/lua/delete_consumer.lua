-- Delete a consumer from a group only when it owns no pending entries (unless forced):
-- XGROUP DELCONSUMER drops the consumer's pending entries, which would lose messages.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] '1' = force
-- Returns {deleted (0/1), pending entries it owned}.
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
local owned = 0
if summary[4] then
  for _, pair in ipairs(summary[4]) do
    if pair[1] == ARGV[2] then owned = tonumber(pair[2]) end
  end
end
if owned > 0 and ARGV[3] ~= '1' then
  return {0, owned}
end
local existed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  for i = 1, #c, 2 do
    if c[i] == 'name' and c[i + 1] == ARGV[2] then existed = 1 end
  end
end
if existed == 1 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return {existed, owned}
