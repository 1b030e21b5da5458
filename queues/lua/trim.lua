-- Safe trim of a stream (safe_trim, queues/lua/_safe_trim.lua, is prepended).
-- KEYS[1] stream
-- ARGV[1] '1' = approximate (~, cheaper, may remove fewer)
-- ARGV[2] maxlen ('' = none): also keep at least the newest maxlen entries; the stream may
--         stay longer than maxlen when the entries beyond it are not yet safe to remove
-- Returns {removed, min id kept} or {-1, 'no groups'} when the stream has no groups
-- (nobody's progress is known, so nothing is provably safe to remove).
local removed, min_id = safe_trim(KEYS[1], ARGV[1] == '1', tonumber(ARGV[2]))
return {removed, min_id}
