-- Heartbeat: reset the idle time of entries this consumer is still working on, so no other
-- consumer claims them. Only entries still owned by this consumer are touched: a heartbeat
-- never takes an entry back from a consumer that has claimed it. An entry whose data was
-- trimmed away is not touched either (XCLAIM would silently drop it from the pending list):
-- it stays pending, so the handler's ack still settles it, a failure dead-letters it
-- (retry.lua) and, if this consumer dies, the claim scan does (reason 'trimmed').
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids
-- Returns the ids this consumer no longer owns.
local lost = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local owned = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
  if #owned == 0 then
    lost[#lost + 1] = id
  elseif #redis.call('XRANGE', KEYS[1], id, id) == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
  end
end
return lost
