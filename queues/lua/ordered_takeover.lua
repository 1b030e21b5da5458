-- Ordered mode: the new holder of the group's lock takes over every pending entry of its
-- inactive predecessors (they lost the lock, so none of them is working any more) and
-- removes them from the group once they own nothing. Bounded per call; call until it
-- returns {0, _, 0}. Each taken entry writes a 'claimed' event in the same atomic step; an
-- entry whose data was trimmed away is dead-lettered (reason 'trimmed', a 'dead_lettered'
-- event) instead of being claimed, which would silently drop it from the pending list.
-- KEYS[1] stream, KEYS[2] events stream, KEYS[3] lock key, KEYS[4] dead-letter stream
-- ARGV[1] group, ARGV[2] this consumer, ARGV[3] max entries, ARGV[4] queue,
-- ARGV[5] events max length
-- Returns {entries taken, consumers removed, entries dead-lettered}; an error if the caller
-- does not hold the lock.
local stream, events, dead = KEYS[1], KEYS[2], KEYS[4]
local group, me, budget = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('GET', KEYS[3]) ~= me then
  return redis.error_reply('NOTHOLDER ' .. me .. ' does not hold the ordered lock')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local taken, removed, dead_count = 0, 0, 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local name, pending
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1] end
  end
  if name ~= me then
    if pending > 0 and budget > 0 then
      local rows = redis.call('XPENDING', stream, group, '-', '+', budget, name)
      for _, p in ipairs(rows) do
        if #redis.call('XRANGE', stream, p[1], p[1]) == 0 then
          local err = 'entry data was deleted before it was acknowledged'
          local dead_id = redis.call('XADD', dead, '*', 'reason', 'trimmed', 'error', err,
            'traceback', '', 'deliveries', p[4], 'original_id', p[1], 'group', group,
            'consumer', name, 'failed_at', now)
          redis.call('XACK', stream, group, p[1])
          add_event(events, ARGV[5],
            'type', 'dead_lettered', 'queue', ARGV[4], 'group', group, 'id', p[1],
            'consumer', name, 'reason', 'trimmed', 'deliveries', p[4],
            'error', err, 'dead_id', dead_id, 'time', now)
          dead_count = dead_count + 1
        else
          redis.call('XCLAIM', stream, group, me, 0, p[1], 'JUSTID')
          add_event(events, ARGV[5],
            'type', 'claimed', 'queue', ARGV[4], 'group', group, 'id', p[1],
            'previous_owner', name, 'new_owner', me, 'idle_ms', p[3],
            'deliveries', p[4], 'time', now)
          taken = taken + 1
        end
      end
      budget = budget - #rows
      pending = pending - #rows
    end
    if pending == 0 then
      redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
      removed = removed + 1
    end
  end
end
return {taken, removed, dead_count}
