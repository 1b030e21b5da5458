-- Put a delayed-publish ticket in the delayed set, once per de-duplication key.
-- KEYS[1] delayed set, KEYS[2] dedup marker (or an unused key of the same slot)
-- ARGV[1] due ms, ARGV[2] ticket, ARGV[3] ticket uuid, ARGV[4] window ms ('0' = no dedup)
-- Returns {1, uuid} or {0, uuid of the earlier ticket}.
if ARGV[4] ~= '0' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    return {0, existing}
  end
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return {1, ARGV[3]}
