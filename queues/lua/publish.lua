-- Publish once per de-duplication key: XADD unless the key was seen within the window.
-- KEYS[1] stream, KEYS[2] dedup marker
-- ARGV[1] window ms, ARGV[2..] field, value, ...
-- Returns {1, new id} or {0, id published earlier under the same key}.
local existing = redis.call('GET', KEYS[2])
if existing then
  return {0, existing}
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {1, id}
