-- Library events: prepended (by queues/scripts.py) to every script that writes one.
-- add_event(key, keep, 'type', kind, 'queue', queue, field, value, ...) appends an event
-- (every event starts with its type and queue), then now and then trims the
-- events stream — never below what its consumer groups (the dashboard's feed) have
-- acknowledged, except at a hard bound that keeps memory finite; an 'events_dropped' event
-- then says how many unacknowledged events went.
-- EVENTS_HARD_MAX, EVENTS_DROP_BATCH and EVENTS_CHECK_EVERY are set by queues/scripts.py
-- from queues/events.py.
local function events_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local function events_less(a_ms, a_seq, b_ms, b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end

-- The first entry some group still needs: min over groups of (oldest pending, first
-- undelivered); false when the stream has no groups.
local function events_needed(key)
  local groups = redis.call('XINFO', 'GROUPS', key)
  if #groups == 0 then return false end
  local min_ms, min_seq
  for _, g in ipairs(groups) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    local ms, seq = events_id(last)
    seq = seq + 1
    local summary = redis.call('XPENDING', key, name)
    if summary[2] then
      local p_ms, p_seq = events_id(summary[2])
      if events_less(p_ms, p_seq, ms, seq) then ms, seq = p_ms, p_seq end
    end
    if min_ms == nil or events_less(ms, seq, min_ms, min_seq) then
      min_ms, min_seq = ms, seq
    end
  end
  return {min_ms, min_seq}
end

local function events_trim(key, keep, len, queue)
  local needed = events_needed(key)
  if not needed then
    -- nobody reads through a group: the newest `keep` are what Manager.events() shows
    redis.call('XTRIM', key, 'MAXLEN', '~', keep)
    return
  end
  -- safe part: of the oldest (len - keep) entries, remove those every group has done
  local remaining, last, cursor = len - keep, nil, '-'
  while remaining > 0 do
    local chunk = redis.call('XRANGE', key, cursor, '+', 'COUNT', math.min(remaining, 1000))
    if #chunk == 0 then break end
    local blocked = false
    for _, entry in ipairs(chunk) do
      local ms, seq = events_id(entry[1])
      if not events_less(ms, seq, needed[1], needed[2]) then
        blocked = true
        break
      end
      last = entry[1]
      remaining = remaining - 1
    end
    if blocked then break end
    cursor = '(' .. last
  end
  if last then
    local ms, seq = events_id(last)
    len = len - redis.call('XTRIM', key, 'MINID', string.format('%d-%d', ms, seq + 1))
  end
  if len <= EVENTS_HARD_MAX then return end
  -- hard bound: what is left beyond the newest `keep` is still needed by some group, and
  -- the oldest of it goes anyway, a batch at a time (one 'events_dropped' event per batch)
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1][1]
  local dropped = redis.call('XTRIM', key, 'MAXLEN', EVENTS_HARD_MAX - EVENTS_DROP_BATCH)
  local kept = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1][1]
  local t = redis.call('TIME')
  redis.call('XADD', key, '*', 'type', 'events_dropped', 'queue', queue,
    'count', dropped, 'from_id', first, 'until_id', kept,
    'error', dropped .. ' events not yet acknowledged by every consumer group were dropped: '
      .. 'the events stream reached its bound of ' .. EVENTS_HARD_MAX .. ' entries',
    'time', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end

local function add_event(key, keep, ...)
  local id = redis.call('XADD', key, '*', ...)
  keep = tonumber(keep)
  local len = redis.call('XLEN', key)
  -- checked every EVENTS_CHECK_EVERY events: each event adds exactly one entry, so the
  -- length passes every multiple on its way up
  if len > keep and len % EVENTS_CHECK_EVERY == 0 then
    events_trim(key, keep, len, select(4, ...))
  end
  return id
end
