-- Move due tickets of the delayed set: publish delayed messages, release parked retries.
-- Each ticket is handled and removed in this one atomic step, so concurrent movers never
-- move a ticket twice and a crash never loses one.
-- A ticket that cannot be published and a parked retry whose data was trimmed away are
-- dead-lettered (reasons 'undecodable', 'trimmed'), each with its 'dead_lettered' event.
-- KEYS[1] delayed set, KEYS[2] stream, KEYS[3] dead-letter stream, KEYS[4] events stream
-- ARGV[1] max tickets per call, ARGV[2] parking consumer name, ARGV[3] queue,
-- ARGV[4] events max length
-- Returns {messages published, retries released, server time ms, next ticket score|false}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local published, released = 0, 0

local function unhex(s)
  return (s:gsub('..', function(cc) return string.char(tonumber(cc, 16)) end))
end

local function event(group, id, consumer, reason, deliveries, err, dead_id)
  add_event(KEYS[4], ARGV[4],
    'type', 'dead_lettered', 'queue', ARGV[3], 'group', group, 'id', id,
    'consumer', consumer, 'reason', reason, 'deliveries', deliveries,
    'error', string.sub(err, 1, 500), 'dead_id', dead_id, 'time', now)
end

local function reject(member, err)
  -- a ticket that cannot be published must not block the ones behind it: keep it, as a
  -- dead letter an operator can inspect
  err = 'bad delayed ticket: ' .. err
  local dead_id = redis.call('XADD', KEYS[3], '*', 'reason', 'undecodable', 'error', err,
    'traceback', '', 'deliveries', 0, 'original_id', '', 'group', '', 'consumer', '',
    'failed_at', now, 'raw', member)
  event('', '', '', 'undecodable', 0, err, dead_id)
end

for _, member in ipairs(due) do
  local ok, ticket = pcall(cjson.decode, member)
  if not ok or type(ticket) ~= 'table' then
    reject(member, 'not JSON')
  elseif ticket.k == 'msg' and type(ticket.f) == 'table' and #ticket.f >= 2 then
    local fields = ticket.f
    if ticket.x then
      -- the value at index x was hex-encoded because it is not UTF-8 text
      fields[ticket.x] = unhex(fields[ticket.x])
    end
    local added = redis.pcall('XADD', KEYS[2], '*', unpack(fields))
    if type(added) == 'table' and added.err then
      reject(member, added.err)
    else
      published = published + 1
    end
  elseif ticket.k == 'retry' then
    -- Release only if the parking consumer still owns it (a replay or purge may have
    -- acknowledged it meanwhile); TIME 1 makes it look idle forever, so the next claim
    -- scan of any consumer of the group takes it.
    local owned = redis.pcall('XPENDING', KEYS[2], ticket.g, ticket.id, ticket.id, 1, ARGV[2])
    if type(owned) == 'table' and #owned == 1 then
      if #redis.call('XRANGE', KEYS[2], ticket.id, ticket.id) == 0 then
        -- trimmed while parked: XCLAIM would drop it from the pending list unseen
        local err = 'entry data was deleted before it was acknowledged'
        local deliveries = owned[1][4]
        local dead_id = redis.call('XADD', KEYS[3], '*', 'reason', 'trimmed', 'error', err,
          'traceback', '', 'deliveries', deliveries, 'original_id', ticket.id,
          'group', ticket.g, 'consumer', ARGV[2], 'failed_at', now)
        redis.call('XACK', KEYS[2], ticket.g, ticket.id)
        event(ticket.g, ticket.id, ARGV[2], 'trimmed', deliveries, err, dead_id)
      else
        redis.call('XCLAIM', KEYS[2], ticket.g, ARGV[2], 0, ticket.id, 'TIME', 1, 'JUSTID')
        released = released + 1
      end
    end
  else
    reject(member, 'unknown ticket kind')
  end
  redis.call('ZREM', KEYS[1], member)
end

local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {published, released, now, nxt[2] or false}
