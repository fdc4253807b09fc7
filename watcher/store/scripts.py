"""Lua scripts: each runs atomically in Redis, so a crash never leaves half a decision behind."""

from __future__ import annotations

# record_story: mark a story seen and emit it, in one step, or attach the URLs to the story
# that already holds them.
# KEYS[1] stream  KEYS[2] text key  KEYS[3] story key  KEYS[4..] url keys (canonical first)
# ARGV[1] story id  ARGV[2] event  ARGV[3] document JSON  ARGV[4] ttl seconds
# ARGV[5] stream maxlen (approximate)  ARGV[6] key prefix of story records ("<ns>:story:")
# ARGV[7..12] url, canonical_url, title, source, site, content_hash of the record
# ARGV[13..] the URLs matching KEYS[4..] (for also_at)
# Returns {"new", id, stream_id} or {"duplicate", id, reason}.
RECORD_STORY = """
local ttl = tonumber(ARGV[4])
local function attach(existing, reason)
  local record = ARGV[6] .. existing
  local raw = redis.call('HGET', record, 'also_at')
  local also = raw and cjson.decode(raw) or {}
  local home = redis.call('HGET', record, 'canonical_url')
  local known = {}
  for _, u in ipairs(also) do known[u] = true end
  for i = 13, #ARGV do
    local u = ARGV[i]
    if u ~= home and not known[u] and redis.call('HGET', record, 'url') ~= u then
      table.insert(also, u); known[u] = true
    end
  end
  if #also > 0 then redis.call('HSET', record, 'also_at', cjson.encode(also)) end
  for i = 4, #KEYS do redis.call('SET', KEYS[i], existing, 'EX', ttl) end
  return {'duplicate', existing, reason}
end
for i = 4, #KEYS do
  local existing = redis.call('GET', KEYS[i])
  if existing and string.sub(existing, 1, 9) ~= 'filtered:' then
    return attach(existing, 'same_url')
  end
end
local existing = redis.call('GET', KEYS[2])
if existing then return attach(existing, 'same_text') end
local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*',
                       'event', ARGV[2], 'data', ARGV[3])
redis.call('HSET', KEYS[3], 'url', ARGV[7], 'canonical_url', ARGV[8], 'title', ARGV[9],
           'source', ARGV[10], 'site', ARGV[11], 'content_hash', ARGV[12], 'stream_id', sid,
           'also_at', '[]', 'created_at', redis.call('TIME')[1])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ttl) end
return {'new', ARGV[1], sid}
"""

# count_paragraphs: count a page's paragraph fingerprints once per distinct page of a host.
# KEYS[1] counts HASH (this generation)  KEYS[2] pages SET (this generation)
# KEYS[3] counts HASH (previous generation)
# ARGV[1] page id  ARGV[2] ttl seconds  ARGV[3..] fingerprints
# Returns, per fingerprint, the pages seen with it in this and the previous generation.
COUNT_PARAGRAPHS = """
local fresh = redis.call('SADD', KEYS[2], ARGV[1]) == 1
redis.call('EXPIRE', KEYS[2], ARGV[2])
local out = {}
for i = 3, #ARGV do
  local now
  if fresh then
    now = redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  else
    now = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  end
  local before = tonumber(redis.call('HGET', KEYS[3], ARGV[i]) or '0')
  out[#out + 1] = now + before
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
"""
