-- Delete a consumer from a group only when it owns no pending entries (unless forced or
-- handed over): XGROUP DELCONSUMER drops the consumer's pending entries, which would lose
-- messages.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] '1' = force, ARGV[4] consumer to hand the
-- pending entries to first ('' = none; they stay pending under that owner, delivery counts
-- unchanged, and are redelivered by the usual claim of idle entries)
-- Returns {deleted (0/1), pending entries it owned, entries handed over}.
-- All in one script: an entry read by the consumer meanwhile cannot slip between the
-- hand-over and the delete.
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
local owned = 0
if summary[4] then
  for _, pair in ipairs(summary[4]) do
    if pair[1] == ARGV[2] then owned = tonumber(pair[2]) end
  end
end
local hand_to = ARGV[4] or ''
if owned > 0 and ARGV[3] ~= '1' and hand_to == '' then
  return {0, owned, 0}
end
local handed = 0
if owned > 0 and hand_to ~= '' then
  local start = '-'
  while true do
    local page = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 500, ARGV[2])
    if #page == 0 then break end
    -- XCLAIM key group to 0 id... JUSTID (unpack() expands only as the last argument)
    local args = {'XCLAIM', KEYS[1], ARGV[1], hand_to, 0}
    for _, entry in ipairs(page) do args[#args + 1] = entry[1] end
    args[#args + 1] = 'JUSTID'
    -- JUSTID: a hand-over is not a delivery; entries trimmed from the stream meanwhile
    -- are not returned (their data is already gone)
    handed = handed + #redis.call(unpack(args))
    start = '(' .. page[#page][1]
  end
end
local existed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  for i = 1, #c, 2 do
    if c[i] == 'name' and c[i + 1] == ARGV[2] then existed = 1 end
  end
end
if existed == 1 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return {existed, owned, handed}
