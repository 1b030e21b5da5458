-- Move an entry to the dead-letter stream, acknowledge it and record the event, atomically.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] events stream
-- ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] reason, ARGV[5] error,
-- ARGV[6] traceback, ARGV[7] deliveries, ARGV[8] queue, ARGV[9] events max length,
-- ARGV[10] '1' = only if the consumer still owns the entry, ARGV[11] priority level of
-- KEYS[1] ('0' for the main stream): recorded so that a replay goes back to that level
-- Returns the dead-letter id, or false when the consumer no longer owns the entry.
if ARGV[10] == '1' then
  local owned = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
  if #owned == 0 then
    return false
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local fields = {}
if ARGV[11] and ARGV[11] ~= '0' then
  fields[1], fields[2] = 'level', ARGV[11]
end
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 1 then
  local f = entry[1][2]
  local has_payload = false
  for i = 1, #f, 2 do
    local name = f[i]
    if name == 'payload' or name == 'ctype' or name == 'headers' or name == 'published' then
      fields[#fields + 1] = name
      fields[#fields + 1] = f[i + 1]
      if name == 'payload' then has_payload = true end
    end
  end
  if not has_payload then
    -- a foreign entry: keep all of it, so nothing an operator may need is lost
    fields[#fields + 1] = 'raw'
    fields[#fields + 1] = cjson.encode(f)
  end
end

local dead_id = redis.call('XADD', KEYS[2], '*',
  'reason', ARGV[4], 'error', ARGV[5], 'traceback', ARGV[6], 'deliveries', ARGV[7],
  'original_id', ARGV[2], 'group', ARGV[1], 'consumer', ARGV[3], 'failed_at', now,
  unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
add_event(KEYS[3], ARGV[9],
  'type', 'dead_lettered', 'queue', ARGV[8], 'group', ARGV[1], 'id', ARGV[2],
  'consumer', ARGV[3], 'reason', ARGV[4], 'deliveries', ARGV[7],
  'error', string.sub(ARGV[5], 1, 500), 'dead_id', dead_id, 'time', now)
return dead_id
