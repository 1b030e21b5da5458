-- Park a failed entry for a retry: it stays in the group's pending list (so a crash during
-- the backoff loses nothing and the delivery counter stays in Redis), owned by the parking
-- consumer, and a ticket in the delayed set releases it when due.
-- KEYS[1] stream, KEYS[2] delayed set
-- ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] delay ms, ARGV[5] ticket,
-- ARGV[6] parking consumer name
-- Returns 1 when parked, 0 when the consumer no longer owns the entry (someone claimed it).
local owned = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #owned == 0 then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[6], 0, ARGV[2], 'JUSTID')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
return 1
