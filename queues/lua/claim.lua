-- One bounded claim scan step: take over entries idle longer than claim_idle.
-- XPENDING and XCLAIM run in this one atomic step, so two consumers racing never both get
-- an entry; every claim writes its 'claimed' event (or 'retried' for a released retry) in
-- the same step, naming the previous owner (which XAUTOCLAIM does not report).
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] events stream, KEYS[4] delayed set
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle ms, ARGV[4] cursor ('-' or '(<id>'),
-- ARGV[5] count, ARGV[6] the group's retry ticket up to the entry id (a parked retry whose
-- ticket is still in the delayed set waits for the mover, however long its backoff; one
-- whose ticket was lost is taken like any idle entry), ARGV[7] parking consumer name, ARGV[8] queue, ARGV[9] events max length,
-- ARGV[10..] ids this consumer holds right now (never re-claimed by itself: that would reset
-- their idle time as a heartbeat does, and report a claim that did not happen)
-- Returns {next cursor, {{id, fields, deliveries, previous owner, idle ms}, ...}, dead}.
local stream, dead, events, delayed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, me, min_idle = ARGV[1], ARGV[2], tonumber(ARGV[3])
local count, ticket_prefix, parking = tonumber(ARGV[5]), ARGV[6], ARGV[7]
local queue, max_events = ARGV[8], ARGV[9]

local held = {}
for i = 10, #ARGV do held[ARGV[i]] = true end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pending = redis.call('XPENDING', stream, group, 'IDLE', min_idle, ARGV[4], '+', count)
local claimed = {}
local dead_count = 0

for _, p in ipairs(pending) do
  local id, owner, idle, deliveries = p[1], p[2], tonumber(p[3]), tonumber(p[4])
  if owner == parking and redis.call('ZSCORE', delayed, ticket_prefix .. id .. '"}') then
    -- a retry still waiting for its backoff (its ticket is due later): not ours to take yet
  elseif owner == me and held[id] then
    -- our own handler still has it
  elseif #redis.call('XRANGE', stream, id, id) == 0 then
    -- the entry was trimmed or deleted while pending: dead-letter it instead of looping
    local dead_id = redis.call('XADD', dead, '*',
      'reason', 'trimmed', 'error', 'entry data was deleted before it was acknowledged',
      'traceback', '', 'deliveries', deliveries, 'original_id', id, 'group', group,
      'consumer', owner, 'failed_at', now)
    redis.call('XACK', stream, group, id)
    add_event(events, max_events,
      'type', 'dead_lettered', 'queue', queue, 'group', group, 'id', id,
      'consumer', owner, 'reason', 'trimmed', 'deliveries', deliveries,
      'error', 'entry data was deleted before it was acknowledged', 'dead_id', dead_id,
      'time', now)
    dead_count = dead_count + 1
  else
    local got = redis.call('XCLAIM', stream, group, me, min_idle, id)
    if #got == 1 and got[1] then
      claimed[#claimed + 1] = {id, got[1][2], deliveries + 1, owner, idle}
      local kind = 'claimed'
      if owner == parking then kind = 'retried' end
      add_event(events, max_events,
        'type', kind, 'queue', queue, 'group', group, 'id', id,
        'previous_owner', owner, 'new_owner', me, 'idle_ms', idle,
        'deliveries', deliveries + 1, 'time', now)
    end
  end
end

local cursor = '-'
if #pending >= count then
  cursor = '(' .. pending[#pending][1]
end
return {cursor, claimed, dead_count}
