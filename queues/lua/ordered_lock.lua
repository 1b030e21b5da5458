-- The lock that makes one consumer of an ordered group the active one. It always expires,
-- so a killed holder never blocks its group for longer than the TTL.
-- KEYS[1] lock key
-- ARGV[1] consumer name, ARGV[2] ttl ms, ARGV[3] '1' = release
-- Returns the holder after the call ('' when free): ARGV[1] if it holds (or just took) it.
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return ''
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return holder
