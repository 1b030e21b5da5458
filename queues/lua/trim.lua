-- Safe trim: remove only entries every group has received and acknowledged, i.e. below
-- min(oldest pending id, first undelivered id) over all groups, computed and applied in
-- one atomic step so no delivery or acknowledgement can slip in between.
-- KEYS[1] stream
-- ARGV[1] '1' = approximate (~, cheaper, may remove fewer)
-- ARGV[2] maxlen ('' = none): also keep at least the newest maxlen entries; the stream may
--         stay longer than maxlen when the entries beyond it are not yet safe to remove
-- Returns {removed, min id kept} or {-1, 'no groups'} when the stream has no groups
-- (nobody's progress is known, so nothing is provably safe to remove).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, false}
end

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a_ms, a_seq, b_ms, b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end

local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then
  return {-1, 'no groups'}
end
local min_ms, min_seq = nil, nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local ms, seq = parse(last)
  seq = seq + 1 -- the first entry this group has not received yet
  local summary = redis.call('XPENDING', KEYS[1], name)
  if summary[2] then
    local p_ms, p_seq = parse(summary[2])
    if less(p_ms, p_seq, ms, seq) then ms, seq = p_ms, p_seq end
  end
  if min_ms == nil or less(ms, seq, min_ms, min_seq) then
    min_ms, min_seq = ms, seq
  end
end
local min_id = string.format('%d-%d', min_ms, min_seq)
local cut = min_id
local maxlen = tonumber(ARGV[2])
if maxlen then
  -- Remove at most the oldest (length - maxlen) entries, and of those only the ones below
  -- min_id. Walking them costs what removing them costs anyway.
  local remaining = redis.call('XLEN', KEYS[1]) - maxlen
  local last = nil
  local cursor = '-'
  while remaining > 0 do
    local chunk = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', math.min(remaining, 1000))
    if #chunk == 0 then break end
    local blocked = false
    for _, entry in ipairs(chunk) do
      local ms, seq = parse(entry[1])
      if not less(ms, seq, min_ms, min_seq) then
        blocked = true
        break
      end
      last = entry[1]
      remaining = remaining - 1
    end
    if blocked or last == nil then break end
    cursor = '(' .. last
  end
  if last == nil then
    return {0, min_id}
  end
  local ms, seq = parse(last)
  cut = string.format('%d-%d', ms, seq + 1)
end

local removed
if ARGV[1] == '1' then
  removed = redis.call('XTRIM', KEYS[1], 'MINID', '~', cut)
else
  removed = redis.call('XTRIM', KEYS[1], 'MINID', cut)
end
return {removed, min_id}
