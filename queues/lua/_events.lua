-- Library events: prepended (by queues/scripts.py, after _safe_trim.lua) to every script
-- that writes one.
-- add_event(key, keep, 'type', kind, 'queue', queue, field, value, ...) appends an event
-- (every event starts with its type and queue), then now and then trims the
-- events stream — never below what its consumer groups (the dashboard's feed) have
-- acknowledged, except at a hard bound that keeps memory finite; an 'events_dropped' event
-- then says how many unacknowledged events went.
-- EVENTS_HARD_MAX, EVENTS_DROP_BATCH and EVENTS_CHECK_EVERY are set by queues/scripts.py
-- from queues/events.py.
local function events_trim(key, keep, len, queue)
  -- the library's own safe trim, keeping the newest `keep` (queues/lua/_safe_trim.lua)
  local removed = safe_trim(key, false, keep)
  if removed < 0 then
    -- nobody reads through a group: the newest `keep` are what Manager.events() shows
    redis.call('XTRIM', key, 'MAXLEN', '~', keep)
    return
  end
  len = len - removed
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
