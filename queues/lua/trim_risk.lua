-- What trimming the stream to MAXLEN maxlen would drop, exactly: how many entries go, and per
-- group how many of them are undelivered or still pending. Read-only.
-- KEYS[1] stream
-- ARGV[1] maxlen, ARGV[2] walk limit (entries looked at per count; beyond it counts are capped)
-- Returns {removes, first kept id|false, safe min id|false, {{group, undelivered, pending}, ...},
--          exact (1/0)}.
local maxlen, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, false, false, {}, 1}
end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local a_ms, a_seq = parse(a)
  local b_ms, b_seq = parse(b)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end
local exact = 1

-- count entries from start (inclusive/exclusive range syntax) up to `stop` (exclusive), capped
local function count_range(start, stop)
  local n, cursor = 0, start
  while n < limit do
    local chunk = redis.call('XRANGE', KEYS[1], cursor, '(' .. stop, 'COUNT', math.min(1000, limit - n))
    if #chunk == 0 then return n end
    n = n + #chunk
    cursor = '(' .. chunk[#chunk][1]
  end
  exact = 0
  return n
end

local removes = redis.call('XLEN', KEYS[1]) - maxlen
local first_kept = false
if removes > 0 then
  -- the oldest entry a MAXLEN trim keeps: walk from the cheaper end
  if removes <= maxlen then
    local cursor, left = '-', removes
    while left > 0 and left <= limit do
      local chunk = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', math.min(1000, left))
      left = left - #chunk
      cursor = '(' .. chunk[#chunk][1]
    end
    if left == 0 then
      local nxt = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 1)
      first_kept = nxt[1][1]
    end
  elseif maxlen <= limit and maxlen > 0 then
    local cursor, left, last = '+', maxlen, nil
    while left > 0 do
      local chunk = redis.call('XREVRANGE', KEYS[1], cursor, '-', 'COUNT', math.min(1000, left))
      left = left - #chunk
      last = chunk[#chunk][1]
      cursor = '(' .. last
    end
    first_kept = last
  elseif maxlen == 0 then
    local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
    local ms, seq = parse(last[1][1])
    first_kept = string.format('%d-%d', ms, seq + 1)
  end
  if not first_kept then exact = 0 end
end

local safe = false
local groups = {}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local ms, seq = parse(last)
  local group_safe = string.format('%d-%d', ms, seq + 1)
  local summary = redis.call('XPENDING', KEYS[1], name)
  if summary[2] and less(summary[2], group_safe) then group_safe = summary[2] end
  if not safe or less(group_safe, safe) then safe = group_safe end
  local undelivered, pending = 0, 0
  if first_kept then
    if less(last, first_kept) then
      undelivered = count_range('(' .. last, first_kept)
    end
    if summary[2] and less(summary[2], first_kept) then
      local rows = redis.call('XPENDING', KEYS[1], name, '-', '(' .. first_kept, limit)
      pending = #rows
      if pending >= limit then exact = 0 end
    end
  end
  groups[#groups + 1] = {name, undelivered, pending}
end
return {math.max(removes, 0), first_kept, safe, groups, exact}
