"""Lua scripts: each runs atomically in Redis, so a crash never leaves half a decision behind."""

from __future__ import annotations

# Shared by the scripts below: join URLs to a story's record (also_at) and point their URL keys
# at it. attach(record key, story id, ttl, first ARGV index of the URLs, first KEYS index of
# their url keys). The record may not exist yet (a copy claimed while its original is still
# being emitted elsewhere): it is created with the TTL and record_story merges into it.
_ATTACH = """
local function attach(record, existing, ttl, from_argv, from_keys)
  local raw = redis.call('HGET', record, 'also_at')
  local also = (raw and raw ~= '[]') and cjson.decode(raw) or {}
  local home = redis.call('HGET', record, 'canonical_url')
  local url = redis.call('HGET', record, 'url')
  local known = {}
  for _, u in ipairs(also) do known[u] = true end
  for i = from_argv, #ARGV do
    local u = ARGV[i]
    if u ~= home and u ~= url and not known[u] then
      table.insert(also, u); known[u] = true
    end
  end
  if #also > 0 then redis.call('HSET', record, 'also_at', cjson.encode(also)) end
  if redis.call('TTL', record) < 0 then redis.call('EXPIRE', record, ttl) end
  for i = from_keys, #KEYS do redis.call('SET', KEYS[i], existing, 'EX', ttl) end
end
"""

# Shared by record_story and hold_story (KEYS[2] the text key, KEYS[4..] the url keys): the
# story one of the URLs or the text already belongs to, with the URLs (from ARGV[from_argv])
# attached to it, as {"duplicate", id, reason}; nil when the story is new.
_EXACT_DUPLICATE = (
    _ATTACH
    + """
local function exact_duplicate(prefix, ttl, from_argv)
  for i = 4, #KEYS do
    local existing = redis.call('GET', KEYS[i])
    if existing and string.sub(existing, 1, 9) ~= 'filtered:' then
      attach(prefix .. existing, existing, ttl, from_argv, 4)
      return {'duplicate', existing, 'same_url'}
    end
  end
  local existing = redis.call('GET', KEYS[2])
  if existing then
    attach(prefix .. existing, existing, ttl, from_argv, 4)
    return {'duplicate', existing, 'same_text'}
  end
  return nil
end
"""
)

# record_story: mark a story seen and emit it, in one step, or attach the URLs to the story
# that already holds them.
# KEYS[1] stream  KEYS[2] text key  KEYS[3] story key  KEYS[4..] url keys (canonical first)
# ARGV[1] story id  ARGV[2] event  ARGV[3] the document's JSON without also_at and its closing
# brace (the script appends both: re-encoding the document with cjson would turn its empty
# lists, topics among them, into objects)  ARGV[4] ttl seconds
# ARGV[5] stream maxlen (approximate)  ARGV[6] key prefix of story records ("<ns>:story:")
# ARGV[7] JSON object of the record's string fields (url, canonical_url, title, source, site,
# content_hash, and what a later re-check needs); empty values are not stored
# ARGV[8] the document's own also_at (JSON list)  ARGV[9..] the URLs matching KEYS[4..]
# Returns {"new", id, stream_id} or {"duplicate", id, reason}.
RECORD_STORY = (
    _EXACT_DUPLICATE
    + """
local ttl = tonumber(ARGV[4])
local duplicate = exact_duplicate(ARGV[6], ttl, 9)
if duplicate then return duplicate end
local early = redis.call('HGET', KEYS[3], 'also_at')
local listed = ARGV[8]
if early and early ~= '[]' then  -- copies claimed while this story was on its way
  local also, seen = {}, {}
  for _, list in ipairs({cjson.decode(early), ARGV[8] ~= '[]' and cjson.decode(ARGV[8]) or {}}) do
    for _, u in ipairs(list) do
      if not seen[u] then table.insert(also, u); seen[u] = true end
    end
  end
  listed = cjson.encode(also)  -- not empty: an array
end
early = listed
local doc = ARGV[3] .. ',"also_at":' .. listed .. '}'
local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*',
                       'event', ARGV[2], 'data', doc)
for field, value in pairs(cjson.decode(ARGV[7])) do
  if value ~= '' then redis.call('HSET', KEYS[3], field, value) end
end
redis.call('HSET', KEYS[3], 'stream_id', sid, 'also_at', early or '[]',
           'created_at', redis.call('TIME')[1])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ttl) end
return {'new', ARGV[1], sid}
"""
)

# attach_copy: a near-duplicate (or a page whose canonical link names a known story) joins
# that story's record instead of being emitted; its text hash and URLs point at the story.
# KEYS[1] story key of the story copied  KEYS[2] the copy's text key  KEYS[3..] its url keys
# ARGV[1] story id  ARGV[2] ttl seconds  ARGV[3] reason (returned)
# ARGV[4] what to do with the record's original: "" nothing, "keep" set it unless the record
# names one already, "replace" set it (the copy is the original the record was waiting for)
# ARGV[5] original_url  ARGV[6] original_source  ARGV[7..] the URLs matching KEYS[3..]
# Returns {"duplicate", id, reason}.
ATTACH_COPY = (
    _ATTACH
    + """
local ttl = tonumber(ARGV[2])
attach(KEYS[1], ARGV[1], ttl, 7, 3)
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl, 'NX')
local mode = ARGV[4]
if mode == 'replace' or (mode == 'keep' and redis.call('HEXISTS', KEYS[1], 'original_url') == 0
                         and redis.call('HEXISTS', KEYS[1], 'original_source') == 0) then
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'original_url', ARGV[5]) end
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'original_source', ARGV[6]) end
end
return {'duplicate', ARGV[1], ARGV[3]}
"""
)

# update_story: emit story.updated and store the new text's identity, in one step, unless
# another replica updated the story since the caller read it (compare-and-set on the hash).
# KEYS[1] stream  KEYS[2] story key  KEYS[3] the new text key
# ARGV[1] story id  ARGV[2] content_hash the caller compared against  ARGV[3] document JSON
# ARGV[4] ttl seconds  ARGV[5] stream maxlen  ARGV[6] JSON object of fields to store
# ARGV[7] the record's version the caller read ("" skips that check; every update bumps it,
# so an upgrade that kept the text still makes a concurrent re-check stale)
# Returns {"updated", stream_id} or {"stale", current content_hash}.
UPDATE_STORY = """
local current = redis.call('HGET', KEYS[2], 'content_hash')
if current ~= ARGV[2] then return {'stale', current or ''} end
if redis.call('HGET', KEYS[2], 'pending') == '1' then return {'stale', current} end
local version = redis.call('HGET', KEYS[2], 'version') or '0'
if ARGV[7] and ARGV[7] ~= '' and version ~= ARGV[7] then return {'stale', current} end
redis.call('HINCRBY', KEYS[2], 'version', 1)
local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*',
                       'event', 'story.updated', 'data', ARGV[3])
for field, value in pairs(cjson.decode(ARGV[6])) do
  if value ~= '' then redis.call('HSET', KEYS[2], field, value) end
end
redis.call('HSET', KEYS[2], 'updated_stream_id', sid, 'updated_at', redis.call('TIME')[1])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
return {'updated', sid}
"""

# upgrade_story: a better version of an emitted story arrived (its original, or a fuller
# copy): emit story.updated with it and make it the record's version, in one step, unless
# another replica changed the version since the caller read the record (compare-and-set on
# content_hash and version: two replicas upgrading with the same original emit once).
# The version emitted before joins also_at; the new version's URLs leave it.
# A story still held (``dedupe.settle``, ``pending``) is created with it instead: its
# original arrived in time, and nothing was emitted before.
# KEYS[1] stream  KEYS[2] story key  KEYS[3] the new text key  KEYS[4] pending ZSET
# KEYS[5..] the new URLs' keys
# ARGV[1] story id  ARGV[2] content_hash read  ARGV[3] version read  ARGV[4] the document's
# JSON without also_at and its closing brace (the script appends both: re-encoding the whole
# document with cjson would turn its empty lists into objects)
# ARGV[5] ttl seconds  ARGV[6] stream maxlen  ARGV[7] JSON object of fields to store (url and
# canonical_url among them)  ARGV[8..] the new version's URLs matching KEYS[5..]
# Returns {"updated" or "new", stream_id} or {"stale", current content_hash}.
UPGRADE_STORY = """
local current = redis.call('HGET', KEYS[2], 'content_hash')
local version = redis.call('HGET', KEYS[2], 'version') or '0'
if not current or current ~= ARGV[2] or version ~= ARGV[3] then
  return {'stale', current or ''}
end
local fields = cjson.decode(ARGV[7])
local raw = redis.call('HGET', KEYS[2], 'also_at')
local before = (raw and raw ~= '[]') and cjson.decode(raw) or {}
local home = {}
home[fields['url']] = true
home[fields['canonical_url']] = true
local also, seen = {}, {}
local function add(u)
  if u and u ~= '' and not home[u] and not seen[u] then table.insert(also, u); seen[u] = true end
end
add(redis.call('HGET', KEYS[2], 'canonical_url'))
add(redis.call('HGET', KEYS[2], 'url'))
for _, u in ipairs(before) do add(u) end
for i = 8, #ARGV do add(ARGV[i]) end
local listed = #also > 0 and cjson.encode(also) or '[]'
local held = redis.call('HGET', KEYS[2], 'pending') == '1'
local event = held and 'story.created' or 'story.updated'
local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*',
                       'event', event, 'data', ARGV[4] .. ',"also_at":' .. listed .. '}')
if held then
  redis.call('HDEL', KEYS[2], 'pending', 'pending_doc')
  redis.call('HSET', KEYS[2], 'stream_id', sid, 'created_at', redis.call('TIME')[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
for field, value in pairs(fields) do
  if value ~= '' then redis.call('HSET', KEYS[2], field, value) end
end
redis.call('HSET', KEYS[2], 'also_at', listed,
           'updated_stream_id', sid, 'updated_at', redis.call('TIME')[1])
redis.call('HINCRBY', KEYS[2], 'version', 1)
if not held then redis.call('HINCRBY', KEYS[2], 'upgrades', 1) end
local ttl = tonumber(ARGV[5])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ttl)
for i = 5, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ttl) end
return {held and 'new' or 'updated', sid}
"""

# hold_story: record_story for a copy that waits for its original (``dedupe.settle``): the
# same exact-duplicate checks, the same record and URL keys, but instead of XADD the
# document waits in the record (``pending_doc``) and the story in the pending ZSET, due at
# ARGV[4]. Durable: a crash while it waits loses nothing, release_due emits it.
# KEYS[1] pending ZSET  KEYS[2] text key  KEYS[3] story key  KEYS[4..] url keys
# ARGV[1] story id  ARGV[2] the document's JSON without also_at and its closing brace
# ARGV[3] ttl seconds  ARGV[4] due (Unix seconds)  ARGV[5] key prefix of story records
# ARGV[6] JSON object of the record's string fields  ARGV[7..] the URLs matching KEYS[4..]
# Returns {"held", id, ""} or {"duplicate", id, reason}.
HOLD_STORY = (
    _EXACT_DUPLICATE
    + """
local ttl = tonumber(ARGV[3])
local duplicate = exact_duplicate(ARGV[5], ttl, 7)
if duplicate then return duplicate end
for field, value in pairs(cjson.decode(ARGV[6])) do
  if value ~= '' then redis.call('HSET', KEYS[3], field, value) end
end
local early = redis.call('HGET', KEYS[3], 'also_at')
redis.call('HSET', KEYS[3], 'pending', '1', 'pending_doc', ARGV[2], 'also_at', early or '[]',
           'created_at', redis.call('TIME')[1])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ttl) end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return {'held', ARGV[1], ''}
"""
)

# release_due: emit every held story whose settle window ended, as it is now (its also_at
# as grown meanwhile), once: the ZREM and the XADD are one step, so replicas releasing at
# once emit each story once. A record gone (expired) only leaves the ZSET.
# KEYS[1] pending ZSET  KEYS[2] stream  ARGV[1] now (Unix seconds)  ARGV[2] key prefix of
# story records  ARGV[3] stream maxlen  ARGV[4] at most this many per call
# Returns the released stories as a flat list: id, source, id, source...
RELEASE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(due) do
  local record = ARGV[2] .. id
  local head = redis.call('HGET', record, 'pending_doc')
  if head and redis.call('HGET', record, 'pending') == '1' then
    local also = redis.call('HGET', record, 'also_at') or '[]'
    local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'event',
                           'story.created', 'data', head .. ',"also_at":' .. also .. '}')
    redis.call('HDEL', record, 'pending', 'pending_doc')
    redis.call('HSET', record, 'stream_id', sid)
    redis.call('HINCRBY', record, 'version', 1)
    table.insert(out, id)
    table.insert(out, redis.call('HGET', record, 'source') or '')
  end
  redis.call('ZREM', KEYS[1], id)
end
return out
"""

# touch_story: note a re-check that found nothing to emit (fields such as checked_at and the
# page's validators), without re-creating a record that expired meanwhile.
# KEYS[1] story key  ARGV[1] JSON object of fields to store
TOUCH_STORY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for field, value in pairs(cjson.decode(ARGV[1])) do
  if value ~= '' then redis.call('HSET', KEYS[1], field, value) end
end
return 1
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

# index_story: index one stream entry of a story, in one step: its sorted sets (all stories,
# its topics, source and words) get it at its time (never lowered: GT) and drop members past
# the TTL; its versions get the entry; its brief is kept at its latest version (replicas
# indexing the same entries at once, or one catching up behind another, never write an older
# version over a newer one). Every key's TTL is renewed. The word and topic keys are built
# here from their prefixes (a single Redis node, as for the near-duplicate index): 200 words
# as 200 arguments cost the client more to pack than Redis to run.
# KEYS[1] the story's brief HASH  KEYS[2] its versions ZSET  KEYS[3..] more sorted sets (all
# stories, its source)
# ARGV[1] story id  ARGV[2] stream id  ARGV[3] score  ARGV[4] lowest score kept
# ARGV[5] ttl seconds  ARGV[6] word key prefix  ARGV[7] the words, space-separated
# ARGV[8] topic key prefix  ARGV[9] the topics, newline-separated
# ARGV[10..] the brief's field, value, field, value...
# Returns 1 when the brief was written, 0 when it holds a later version already.
INDEX_STORY = """
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms or '0'), tonumber(seq or '0')
end
local score, floor, ttl = ARGV[3], '(' .. ARGV[4], ARGV[5]
local function add(key)
  redis.call('ZADD', key, 'GT', score, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', floor)
  redis.call('EXPIRE', key, ttl)
end
for i = 3, #KEYS do add(KEYS[i]) end
for word in string.gmatch(ARGV[7], '%S+') do add(ARGV[6] .. word) end
for topic in string.gmatch(ARGV[9], '[^\\n]+') do add(ARGV[8] .. topic) end
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('EXPIRE', KEYS[2], ttl)
local held = redis.call('HGET', KEYS[1], 'stream_id')
local created = ARGV[2]
if held then
  local hm, hs = parts(held)
  local m, s = parts(ARGV[2])
  if hm > m or (hm == m and hs >= s) then
    redis.call('EXPIRE', KEYS[1], ttl)
    return 0
  end
  created = redis.call('HGET', KEYS[1], 'created_id') or held
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'stream_id', ARGV[2], 'created_id', created)
for i = 10, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""
