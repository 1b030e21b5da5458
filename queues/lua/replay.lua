-- Replay dead letters: publish each again (to the group that failed it) and delete it from
-- the dead-letter stream in one atomic step, so a replay is never lost or doubled.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] events stream
-- ARGV[1] queue, ARGV[2] events max length, ARGV[3..] dead-letter ids
-- Returns the number replayed (dead letters without a payload are left in place).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local replayed = 0
for i = 3, #ARGV do
  local entry = redis.call('XRANGE', KEYS[2], ARGV[i], ARGV[i])
  if #entry == 1 then
    local f = entry[1][2]
    local fields = {}
    local payload, group = nil, nil
    for j = 1, #f, 2 do
      local name = f[j]
      if name == 'payload' then payload = f[j + 1] end
      if name == 'group' then group = f[j + 1] end
      if name == 'ctype' or name == 'headers' or name == 'payload' then
        fields[#fields + 1] = name
        fields[#fields + 1] = f[j + 1]
      end
    end
    if payload then
      fields[#fields + 1] = 'published'
      fields[#fields + 1] = now
      fields[#fields + 1] = 'replayed_from'
      fields[#fields + 1] = ARGV[i]
      if group and group ~= '' then
        fields[#fields + 1] = 'only_group'
        fields[#fields + 1] = group
      end
      redis.call('XADD', KEYS[1], '*', unpack(fields))
      redis.call('XDEL', KEYS[2], ARGV[i])
      replayed = replayed + 1
    end
  end
end
if replayed > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
    'type', 'replayed', 'queue', ARGV[1], 'count', replayed, 'time', now)
end
return replayed
