-- Replay dead letters: publish each again (to the group that failed it, on the priority level
-- it failed at) and delete it from the dead-letter stream in one atomic step, so a replay is
-- never lost or doubled. A dead letter whose group does not exist on that level's stream is
-- left in place and reported: every other group would acknowledge and skip it, so nobody
-- would handle it.
-- KEYS[1] stream (level 0), KEYS[2] dead-letter stream, KEYS[3] events stream,
-- KEYS[4..12] streams of priority levels 1..9
-- ARGV[1] queue, ARGV[2] events max length, ARGV[3..] dead-letter ids
-- Returns {replayed, {{id, group, level}, ...} refused} (dead letters without a payload are
-- left in place too, not reported: there is nothing to replay).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local replayed = 0
local refused = {}
local groups_of = {} -- stream -> set of its group names

local function has_group(stream, group)
  if groups_of[stream] == nil then
    local names = {}
    if redis.call('EXISTS', stream) == 1 then
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
        for k = 1, #g, 2 do
          if g[k] == 'name' then names[g[k + 1]] = true end
        end
      end
    end
    groups_of[stream] = names
  end
  return groups_of[stream][group] == true
end

for i = 3, #ARGV do
  local entry = redis.call('XRANGE', KEYS[2], ARGV[i], ARGV[i])
  if #entry == 1 then
    local f = entry[1][2]
    local fields = {}
    local payload, group, level = nil, nil, 0
    for j = 1, #f, 2 do
      local name = f[j]
      if name == 'payload' then payload = f[j + 1] end
      if name == 'group' then group = f[j + 1] end
      if name == 'level' then level = tonumber(f[j + 1]) or 0 end
      if name == 'ctype' or name == 'headers' or name == 'payload' then
        fields[#fields + 1] = name
        fields[#fields + 1] = f[j + 1]
      end
    end
    local target = KEYS[1]
    if level >= 1 and level <= 9 then target = KEYS[3 + level] else level = 0 end
    if payload and group and group ~= '' and not has_group(target, group) then
      refused[#refused + 1] = {ARGV[i], group, level}
    elseif payload then
      fields[#fields + 1] = 'published'
      fields[#fields + 1] = now
      fields[#fields + 1] = 'replayed_from'
      fields[#fields + 1] = ARGV[i]
      if group and group ~= '' then
        fields[#fields + 1] = 'only_group'
        fields[#fields + 1] = group
      end
      redis.call('XADD', target, '*', unpack(fields))
      redis.call('XDEL', KEYS[2], ARGV[i])
      replayed = replayed + 1
    end
  end
end
if replayed > 0 then
  add_event(KEYS[3], ARGV[2],
    'type', 'replayed', 'queue', ARGV[1], 'count', replayed, 'time', now)
end
return {replayed, refused}
