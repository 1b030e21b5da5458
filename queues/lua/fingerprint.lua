-- Which of a batch of streams changed since the caller last looked: one cheap check per
-- stream instead of the ~15 commands (and their decoding) of a full read.
--
-- ARGV[1]  active_idle_ms: a consumer idle less than this counts as active
-- ARGV[2]  targets in this batch
-- ARGV[3]  "1": also look at each queue's events stream (see below); "0": do not
--          then per target four values: kind ("q": a StreamWarden queue, "p": a plain
--          stream), the number of priority levels whose keys follow, the fingerprint the
--          caller holds ("" = none), the last events id the caller holds
-- KEYS     per target: a plain stream's key; or a queue's stream, dead-letter stream,
--          delayed set, levels set, duplicates hash, events stream, then per level its
--          stream and delayed set
--
-- Returns {seconds, microseconds, {i, fingerprint, head, ...}, {i, events id, ...}}: the
-- server time, only the targets (1-based) whose fingerprint differs from the one held, and
-- only the queues whose events stream's last entry id differs from the one held (false
-- when the events stream could not be read).
--
-- The fingerprint covers, per stream: length, last-generated / max-deleted / first / last
-- ids, entries added; per group: consumers, pending, last-delivered id, entries read, lag;
-- per consumer: its name, its pending count and whether it is active; for a queue also the
-- size of its dead letters and delayed set, its levels set and duplicates counters, and its
-- level streams. A still stream costs XINFO STREAM, XINFO GROUPS, XINFO CONSUMERS per group
-- with consumers, and for a queue XLEN, ZCARD, SMEMBERS and HGETALL of its side keys, and
-- (when asked) XREVRANGE COUNT 1 of its events stream.
--
-- The events stream (claimed, dead_lettered... written by the library) is not part of the
-- fingerprint: a reader of the events (the dashboard's ingestion) reads only the queues
-- whose events moved, whatever else changed or did not.
--
-- The head of a changed stream is what a reader needs to update its last full read:
-- {length, entries added, last entry id, dead letters, delayed, the duplicates counters
-- and the levels set as text ("" when empty), then per group {name, consumers, pending,
-- last-delivered id, entries read, lag, first pending id, first undelivered id,
-- {consumer, pending, idle, ...}}}; ids "" when there is none. It is {"!"} when a key
-- could not be read: the reader then reads the stream in full.
--
-- Every key is read with redis.pcall and every target in its own pcall: a key of the wrong
-- type or a reply of an unexpected shape costs only its own target (fingerprint "": the
-- caller reads it in full, where its problem is recorded on its row).

local active_idle = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local BROKEN = {'!'}

-- A scalar for table.concat: numbers and strings as they are (no conversion here).
local function put(out, v)
  local t = type(v)
  if t == 'string' or t == 'number' then
    out[#out + 1] = v
  elseif t == 'table' then
    if v.err then out[#out + 1] = 'E' .. v.err else out[#out + 1] = '#' .. #v end
  else
    out[#out + 1] = '-'
  end
end

local function failed(out, reply)
  if type(reply) == 'table' and reply.err then
    out[#out + 1] = 'E' .. reply.err
    return true
  end
  return false
end

-- One stream's fingerprint parts into out; returns its groups' data for a head, or nil
-- when a key of it could not be read.
local function stream(out, key)
  local info = redis.pcall('XINFO', 'STREAM', key)
  if failed(out, info) then return nil end
  local length, added, last
  for i = 1, #info, 2 do
    local name, v = info[i], info[i + 1]
    if name == 'first-entry' or name == 'last-entry' then
      local id = type(v) == 'table' and v[1] or ''
      out[#out + 1] = id
      if name == 'last-entry' then last = id end
    elseif name ~= 'radix-tree-keys' and name ~= 'radix-tree-nodes' then
      out[#out + 1] = name
      put(out, v)
      if name == 'length' then length = v elseif name == 'entries-added' then added = v end
    end
  end
  local groups = redis.pcall('XINFO', 'GROUPS', key)
  if failed(out, groups) then return nil end
  local found = {}
  for _, g in ipairs(groups) do
    local name, consumers
    for i = 1, #g, 2 do
      local field, v = g[i], g[i + 1]
      if field == 'name' then name = v elseif field == 'consumers' then consumers = v end
      out[#out + 1] = field
      put(out, v)
    end
    local list = {}
    if consumers ~= 0 then
      list = redis.pcall('XINFO', 'CONSUMERS', key, name)
      if failed(out, list) then return nil end
      for _, c in ipairs(list) do
        for i = 1, #c, 2 do
          local field, v = c[i], c[i + 1]
          if field == 'name' or field == 'pending' then
            put(out, v)
          elseif field == 'idle' then
            out[#out + 1] = (tonumber(v) or 0) < active_idle and 'a' or 'i'
          end
        end
      end
    end
    found[#found + 1] = {g, list}
  end
  return {length or 0, added or false, last or ''}, found
end

-- The head of one group (only for a stream that changed).
local function group_head(key, g, list)
  local fields = {}
  for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
  local name, pending, lag = fields['name'], fields['pending'], fields['lag']
  local delivered = fields['last-delivered-id']
  local first_pending, undelivered = '', ''
  if pending ~= 0 then
    local summary = redis.pcall('XPENDING', key, name)
    if type(summary) == 'table' and summary.err then return nil end
    first_pending = summary[2] or ''
  end
  if lag ~= 0 then
    local next_entry = redis.pcall('XRANGE', key, '(' .. delivered, '+', 'COUNT', 1)
    if type(next_entry) == 'table' and next_entry.err then return nil end
    if next_entry[1] then undelivered = next_entry[1][1] end
  end
  local consumers = {}
  for _, c in ipairs(list) do
    local f = {}
    for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
    consumers[#consumers + 1] = f['name']
    consumers[#consumers + 1] = f['pending']
    consumers[#consumers + 1] = f['idle']
  end
  return {name, fields['consumers'], pending, delivered, fields['entries-read'] or false,
          lag or false, first_pending, undelivered, consumers}
end

local function size(out, command, key)
  local reply = redis.pcall(command, key)
  put(out, reply)
  if type(reply) == 'table' then return nil end
  return reply
end

-- A set's members or a hash's fields and values, sorted, as one text (nil when unreadable).
local function sorted_text(out, reply)
  if failed(out, reply) then return nil end
  local items = {}
  for i = 1, #reply do items[i] = reply[i] end
  table.sort(items)
  local text = table.concat(items, '\0')
  out[#out + 1] = text
  return text
end

local function check(kind, first, levels, held)
  local out = {}
  local head, groups = stream(out, KEYS[first])
  local dead, delayed, levels_text, duplicates = false, false, '', ''
  if kind == 'q' then
    dead = size(out, 'XLEN', KEYS[first + 1])
    delayed = size(out, 'ZCARD', KEYS[first + 2])
    levels_text = sorted_text(out, redis.pcall('SMEMBERS', KEYS[first + 3]))
    local counters = redis.pcall('HGETALL', KEYS[first + 4])
    if not failed(out, counters) then
      local pairs_ = {}
      for i = 1, #counters, 2 do pairs_[#pairs_ + 1] = counters[i] .. '=' .. counters[i + 1] end
      duplicates = sorted_text(out, pairs_)
    else
      duplicates = nil
    end
    for level = 0, levels - 1 do
      out[#out + 1] = 'level'
      stream(out, KEYS[first + 6 + 2 * level])
      size(out, 'ZCARD', KEYS[first + 7 + 2 * level])
    end
  end
  local fingerprint = redis.sha1hex(table.concat(out, '\0'))
  if fingerprint == held then return nil end
  if not head or dead == nil or delayed == nil or not levels_text or not duplicates then
    return fingerprint, BROKEN
  end
  head[4] = dead
  head[5] = delayed
  head[6] = duplicates
  head[7] = levels_text
  for _, g in ipairs(groups) do
    local one = group_head(KEYS[first], g[1], g[2])
    if not one then return fingerprint, BROKEN end
    head[#head + 1] = one
  end
  return fingerprint, head
end

-- The last entry id of a queue's events stream ("" when empty or missing); false when it
-- cannot be read (the reader then reads the events anyway).
local function events_id(key)
  local last = redis.pcall('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if type(last) ~= 'table' or last.err then return false end
  local entry = last[1]
  if entry == nil then return '' end
  if type(entry) ~= 'table' or type(entry[1]) ~= 'string' then return false end
  return entry[1]
end

local now = redis.call('TIME')
local changed, moved = {}, {}
local key = 1
for t = 1, count do
  local base = 3 + 4 * (t - 1)
  local kind = ARGV[base + 1]
  local levels = tonumber(ARGV[base + 2]) or 0
  local held = ARGV[base + 3]
  local first = key
  if kind == 'q' then key = key + 6 + 2 * levels else key = key + 1 end
  local ok, fingerprint, head = pcall(check, kind, first, levels, held)
  if not ok then
    fingerprint, head = '', BROKEN
  end
  if fingerprint then
    changed[#changed + 1] = t
    changed[#changed + 1] = fingerprint
    changed[#changed + 1] = head
  end
  if kind == 'q' and ARGV[3] == '1' then
    local read, id = pcall(events_id, KEYS[first + 5])
    if not read then id = false end
    if id ~= ARGV[base + 4] then
      moved[#moved + 1] = t
      moved[#moved + 1] = id
    end
  end
end
return {now[1], now[2], changed, moved}
