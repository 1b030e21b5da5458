-- Tell a producer how its message ended, if the producer is still alive: its heartbeat key
-- expires when it dies, and then its reply stream is deleted here instead of growing.
-- KEYS[1] reply stream, KEYS[2] producer heartbeat key
-- ARGV[1] correlation token, ARGV[2] entry id, ARGV[3] status (done|dead), ARGV[4] error,
-- ARGV[5] max length of the reply stream
-- Returns 1 when written, 0 when the producer is gone (and its stream was deleted).
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*',
  'token', ARGV[1], 'id', ARGV[2], 'status', ARGV[3], 'error', ARGV[4])
return 1
