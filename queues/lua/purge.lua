-- Purge a queue: remove every entry and delayed ticket of every priority level, acknowledge
-- every pending entry and move each group to the end, keeping groups and their read
-- counters. (De-duplication markers are deleted by the caller: their names are not known
-- here.)
-- KEYS[1] stream, KEYS[2] delayed set, KEYS[3] events stream, then for each priority level
-- 1..9 its stream and delayed set (KEYS[4], KEYS[5], KEYS[6], KEYS[7], ...)
-- ARGV[1] queue, ARGV[2] events max length
-- Returns the number of stream entries removed (all levels).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function purge(stream, delayed)
  redis.call('DEL', delayed)
  if redis.call('EXISTS', stream) == 0 then
    return 0
  end
  local removed = redis.call('XTRIM', stream, 'MAXLEN', 0)
  local info = redis.call('XINFO', 'STREAM', stream)
  local added = 0
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = info[i + 1] end
  end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local name
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
    end
    while true do
      local pending = redis.call('XPENDING', stream, name, '-', '+', 1000)
      if #pending == 0 then break end
      local ids = {}
      for _, p in ipairs(pending) do ids[#ids + 1] = p[1] end
      redis.call('XACK', stream, name, unpack(ids))
    end
    redis.call('XGROUP', 'SETID', stream, name, '$', 'ENTRIESREAD', added)
  end
  return removed
end

local removed = purge(KEYS[1], KEYS[2])
for i = 4, #KEYS, 2 do
  removed = removed + purge(KEYS[i], KEYS[i + 1])
end
if removed == 0 and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
add_event(KEYS[3], ARGV[2],
  'type', 'purged', 'queue', ARGV[1], 'count', removed, 'time', now)
return removed
