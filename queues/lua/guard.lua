-- Processing tokens of Consumer(guard=True): one per (group, entry id), naming the consumer
-- whose handler runs the entry now ("<random>:<consumer name>"), expiring unless refreshed.
-- ARGV[1] mode, ARGV[2] owner, ARGV[3] time to live (ms)
-- take: KEYS[1] token, KEYS[2] stream; ARGV[4] group, ARGV[5] entry id, ARGV[6] delivery
--   count before this delivery. Returns 1 when the token was free or already ours (now ours
--   for ttl). Returns 0 when another consumer holds it: the entry goes back to that consumer
--   with its delivery count restored, so a message whose handler still runs is not counted
--   as delivered again (nor dead-lettered for it) each time someone claims it.
-- refresh / release: KEYS are tokens; extend / delete those still ours, return how many.
local mode, owner, ttl = ARGV[1], ARGV[2], ARGV[3]
if mode == 'take' then
  local holder = redis.call('GET', KEYS[1])
  if holder and holder ~= owner then
    local name = string.match(holder, '^[^:]*:(.*)$')
    -- not an entry whose data was trimmed: XCLAIM would drop it from the pending list
    -- unseen; left with the caller, the claim scan dead-letters it (reason 'trimmed')
    if name and #redis.call('XRANGE', KEYS[2], ARGV[5], ARGV[5]) == 1 then
      redis.call('XCLAIM', KEYS[2], ARGV[4], name, 0, ARGV[5], 'RETRYCOUNT', ARGV[6], 'JUSTID')
    end
    return 0
  end
  redis.call('SET', KEYS[1], owner, 'PX', ttl)
  return 1
end
local count = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == owner then
    if mode == 'refresh' then
      redis.call('PEXPIRE', KEYS[i], ttl)
    else
      redis.call('DEL', KEYS[i])
    end
    count = count + 1
  end
end
return count
