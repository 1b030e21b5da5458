-- Park a failed entry for a retry: it stays in the group's pending list (so a crash during
-- the backoff loses nothing and the delivery counter stays in Redis), owned by the parking
-- consumer, and a ticket in the delayed set releases it when due.
-- An entry whose data was trimmed away meanwhile cannot be retried (XCLAIM would silently
-- drop it from the pending list): it is dead-lettered with reason 'trimmed' instead, with
-- the fields the consumer still holds, so it can be replayed.
-- KEYS[1] stream, KEYS[2] delayed set, KEYS[3] dead-letter stream, KEYS[4] events stream
-- ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] delay ms, ARGV[5] ticket,
-- ARGV[6] parking consumer name, ARGV[7] queue, ARGV[8] events max length,
-- ARGV[9] deliveries, ARGV[10] priority level, ARGV[11..] entry fields (name, value, ...)
-- Returns 1 when parked, 0 when the consumer no longer owns the entry (someone claimed it),
-- 2 when it was dead-lettered because its data was trimmed.
local owned = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #owned == 0 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then
  local err = 'entry data was deleted before it was acknowledged'
  local fields = {'reason', 'trimmed', 'error', err, 'traceback', '', 'deliveries', ARGV[9],
    'original_id', ARGV[2], 'group', ARGV[1], 'consumer', ARGV[3], 'failed_at', now}
  if ARGV[10] ~= '0' then
    fields[#fields + 1] = 'level'
    fields[#fields + 1] = ARGV[10]
  end
  for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
  local dead_id = redis.call('XADD', KEYS[3], '*', unpack(fields))
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  add_event(KEYS[4], ARGV[8],
    'type', 'dead_lettered', 'queue', ARGV[7], 'group', ARGV[1], 'id', ARGV[2],
    'consumer', ARGV[3], 'reason', 'trimmed', 'deliveries', ARGV[9],
    'error', err, 'dead_id', dead_id, 'time', now)
  return 2
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[6], 0, ARGV[2], 'JUSTID')
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
return 1
