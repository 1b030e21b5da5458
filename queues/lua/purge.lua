-- Purge a queue: remove every entry and delayed ticket, acknowledge every pending entry and
-- move each group to the end, keeping groups and their read counters.
-- KEYS[1] stream, KEYS[2] delayed set, KEYS[3] events stream
-- ARGV[1] queue, ARGV[2] events max length
-- Returns the number of stream entries removed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local removed = redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added = 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = info[i + 1] end
end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
  end
  while true do
    local pending = redis.call('XPENDING', KEYS[1], name, '-', '+', 1000)
    if #pending == 0 then break end
    local ids = {}
    for _, p in ipairs(pending) do ids[#ids + 1] = p[1] end
    redis.call('XACK', KEYS[1], name, unpack(ids))
  end
  redis.call('XGROUP', 'SETID', KEYS[1], name, '$', 'ENTRIESREAD', added)
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
  'type', 'purged', 'queue', ARGV[1], 'count', removed, 'time', now)
return removed
