-- Safe trim (prepended by queues/scripts.py to trim.lua and to every script that writes
-- events): remove only entries every group has received and acknowledged, i.e. below
-- min(oldest pending id, first undelivered id) over all groups, computed and applied in
-- the caller's one atomic step so no delivery or acknowledgement can slip in between.
local function safe_trim_parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local function safe_trim_less(a_ms, a_seq, b_ms, b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end

-- safe_trim(key, approximate, maxlen): approximate uses '~' (cheaper, may remove fewer);
-- maxlen (nil = none) also keeps at least the newest maxlen entries, so the stream may stay
-- longer than maxlen when the entries beyond it are not yet safe to remove.
-- Returns removed, min id kept ('ms-seq'); 0, false for a missing stream; -1, 'no groups'
-- when the stream has no groups (nobody's progress is known: nothing is provably safe).
local function safe_trim(key, approximate, maxlen)
  if redis.call('EXISTS', key) == 0 then
    return 0, false
  end
  local groups = redis.call('XINFO', 'GROUPS', key)
  if #groups == 0 then
    return -1, 'no groups'
  end
  local min_ms, min_seq = nil, nil
  for _, g in ipairs(groups) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    local ms, seq = safe_trim_parse(last)
    seq = seq + 1 -- the first entry this group has not received yet
    local summary = redis.call('XPENDING', key, name)
    if summary[2] then
      local p_ms, p_seq = safe_trim_parse(summary[2])
      if safe_trim_less(p_ms, p_seq, ms, seq) then ms, seq = p_ms, p_seq end
    end
    if min_ms == nil or safe_trim_less(ms, seq, min_ms, min_seq) then
      min_ms, min_seq = ms, seq
    end
  end
  local min_id = string.format('%d-%d', min_ms, min_seq)
  local cut = min_id
  if maxlen then
    -- Remove at most the oldest (length - maxlen) entries, and of those only the ones below
    -- min_id. Walking them costs what removing them costs anyway.
    local remaining = redis.call('XLEN', key) - maxlen
    local last = nil
    local cursor = '-'
    local step = 16 -- growing chunks: a stream whose oldest entry is still needed costs 1 read
    while remaining > 0 do
      local chunk = redis.call('XRANGE', key, cursor, '+', 'COUNT', math.min(remaining, step))
      step = math.min(step * 4, 1000)
      if #chunk == 0 then break end
      local blocked = false
      for _, entry in ipairs(chunk) do
        local ms, seq = safe_trim_parse(entry[1])
        if not safe_trim_less(ms, seq, min_ms, min_seq) then
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
      return 0, min_id
    end
    local ms, seq = safe_trim_parse(last)
    cut = string.format('%d-%d', ms, seq + 1)
  end

  local removed
  if approximate then
    removed = redis.call('XTRIM', key, 'MINID', '~', cut)
  else
    removed = redis.call('XTRIM', key, 'MINID', cut)
  end
  return removed, min_id
end
