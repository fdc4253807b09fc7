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

# Shared by every script that emits: emit(stream, policy JSON, field, value, ...) XADDs, then
# trims the stream to its policy ({"maxlen", "slack", "retention_ms", "batch", "groups"}):
# entries past ``maxlen`` (once ``slack`` more have piled up) or older than ``retention_ms``
# go, but never one that a consumer group named in ``groups`` (the watcher's own endpoints)
# has not read, or read and not acknowledged: the trim stops at the oldest such entry
# (XTRIM MINID). At most ``batch`` entries go per emit. Other groups are not waited for;
# ``<stream>:trimmed`` keeps the id before which entries are gone, to tell who lost some.
_EMIT = """
local function id_parts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function older(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  return am < bm or (am == bm and as < bs)
end
local function after(id)
  local ms, seq = id_parts(id)
  return string.format('%d-%d', ms, seq + 1)
end
-- the oldest entry one of ``own`` (a set of group names) still needs; nil: none
local function still_needed(stream, own)
  local floor = nil
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local info = {}
    for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
    if own[info['name']] then
      local need = after(info['last-delivered-id'])
      if tonumber(info['pending']) > 0 then
        local oldest = redis.call('XPENDING', stream, info['name'])[2]
        if older(oldest, need) then need = oldest end
      end
      if floor == nil or older(need, floor) then floor = need end
    end
  end
  return floor
end
local function trim(stream, policy)
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if not first then return end
  first = first[1]
  local excess = redis.call('XLEN', stream) - policy['maxlen']
  local cutoff = nil
  if policy['retention_ms'] > 0 then
    local now = redis.call('TIME')
    cutoff = string.format('%d-0', tonumber(now[1]) * 1000
                           + math.floor(tonumber(now[2]) / 1000) - policy['retention_ms'])
    if not older(first, cutoff) then cutoff = nil end
  end
  if excess <= policy['slack'] and cutoff == nil then return end  -- the usual emit
  local own = {}
  for _, name in ipairs(policy['groups']) do own[name] = true end
  local floor = still_needed(stream, own)
  if floor and not older(first, floor) then return end
  local keep = nil
  if excess > policy['slack'] then
    local upto = floor and ('(' .. floor) or '+'
    local gone = redis.call('XRANGE', stream, '-', upto, 'COUNT',
                            math.min(excess, policy['batch']))
    if #gone > 0 then keep = after(gone[#gone][1]) end
  end
  if cutoff and (keep == nil or older(keep, cutoff)) then
    local old = redis.call('XRANGE', stream, '-', '(' .. cutoff, 'COUNT', policy['batch'])
    if #old == policy['batch'] then cutoff = after(old[#old][1]) end  -- the rest next time
    keep = cutoff
  end
  if keep == nil then return end
  if floor and older(floor, keep) then keep = floor end
  if older(first, keep) and redis.call('XTRIM', stream, 'MINID', keep) > 0 then
    redis.call('SET', stream .. ':trimmed', keep)  -- every entry before it is gone
  end
end
local function emit(stream, policy_json, ...)
  local sid = redis.call('XADD', stream, '*', ...)
  trim(stream, cjson.decode(policy_json))
  return sid
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
# ARGV[5] stream policy (JSON, see _EMIT)  ARGV[6] key prefix of story records ("<ns>:story:")
# ARGV[7] JSON object of the record's string fields (url, canonical_url, title, source, site,
# content_hash, and what a later re-check needs); empty values are not stored
# ARGV[8] the document's own also_at (JSON list)  ARGV[9..] the URLs matching KEYS[4..]
# Returns {"new", id, stream_id} or {"duplicate", id, reason}.
RECORD_STORY = (
    _EMIT
    + _EXACT_DUPLICATE
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
local sid = emit(KEYS[1], ARGV[5], 'event', ARGV[2], 'data', doc)
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
# ARGV[4] ttl seconds  ARGV[5] stream policy  ARGV[6] JSON object of fields to store
# ARGV[7] the record's version the caller read ("" skips that check; every update bumps it,
# so an upgrade that kept the text still makes a concurrent re-check stale)
# Returns {"updated", stream_id} or {"stale", current content_hash}.
UPDATE_STORY = (
    _EMIT
    + """
local current = redis.call('HGET', KEYS[2], 'content_hash')
if current ~= ARGV[2] then return {'stale', current or ''} end
if redis.call('HGET', KEYS[2], 'pending') == '1' then return {'stale', current} end
local version = redis.call('HGET', KEYS[2], 'version') or '0'
if ARGV[7] and ARGV[7] ~= '' and version ~= ARGV[7] then return {'stale', current} end
redis.call('HINCRBY', KEYS[2], 'version', 1)
local sid = emit(KEYS[1], ARGV[5], 'event', 'story.updated', 'data', ARGV[3])
for field, value in pairs(cjson.decode(ARGV[6])) do
  if value ~= '' then redis.call('HSET', KEYS[2], field, value) end
end
redis.call('HSET', KEYS[2], 'updated_stream_id', sid, 'updated_at', redis.call('TIME')[1])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
return {'updated', sid}
"""
)

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
# ARGV[5] ttl seconds  ARGV[6] stream policy  ARGV[7] JSON object of fields to store (url and
# canonical_url among them)  ARGV[8..] the new version's URLs matching KEYS[5..]
# Returns {"updated" or "new", stream_id} or {"stale", current content_hash}.
UPGRADE_STORY = (
    _EMIT
    + """
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
local sid = emit(KEYS[1], ARGV[6], 'event', event, 'data',
                 ARGV[4] .. ',"also_at":' .. listed .. '}')
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
)

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
# story records  ARGV[3] stream policy  ARGV[4] at most this many per call
# Returns the released stories as a flat list: id, source, id, source...
RELEASE_DUE = (
    _EMIT
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(due) do
  local record = ARGV[2] .. id
  local head = redis.call('HGET', record, 'pending_doc')
  if head and redis.call('HGET', record, 'pending') == '1' then
    local also = redis.call('HGET', record, 'also_at') or '[]'
    local sid = emit(KEYS[2], ARGV[3], 'event', 'story.created', 'data',
                     head .. ',"also_at":' .. also .. '}')
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
)

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
# ARGV[1] page id  ARGV[2] ttl seconds  ARGV[3] the fingerprints, space-separated (one
# argument, not one each: ~50 arguments a page cost the client more to pack than Redis to run)
# Returns, per fingerprint, the pages seen with it in this and the previous generation.
COUNT_PARAGRAPHS = """
local fresh = redis.call('SADD', KEYS[2], ARGV[1]) == 1
redis.call('EXPIRE', KEYS[2], ARGV[2])
local out = {}
for fp in string.gmatch(ARGV[3], '%S+') do
  local now
  if fresh then
    now = redis.call('HINCRBY', KEYS[1], fp, 1)
  else
    now = tonumber(redis.call('HGET', KEYS[1], fp) or '0')
  end
  local before = tonumber(redis.call('HGET', KEYS[3], fp) or '0')
  out[#out + 1] = now + before
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
"""


# --- fingerprints ---

# KEYS: none (names are built from ARGV[1]; single-node Redis only).
# ARGV[1] prefix "<ns>:nd:"  ARGV[2] epoch  ARGV[3] unix expire-at of the epoch's keys
# ARGV[4] the 21-byte story record  ARGV[5] anchors, 5 bytes each: 2-byte bucket, 3-byte tag
# ARGV[6] the index generation the caller's lookup saw, or "" to add unconditionally
# Returns the story's ref in the epoch; -1 when the epoch is full (2**24 stories); -2 when
# another story was added since the caller's lookup (look up again, then retry).
ADD_FINGERPRINT = """
local prefix, epoch, exat = ARGV[1], ARGV[2], ARGV[3]
local gen = prefix .. 'gen'
if ARGV[6] ~= '' and (redis.call('GET', gen) or '0') ~= ARGV[6] then return -2 end
redis.call('INCR', gen)
redis.call('EXPIREAT', gen, exat)
local base = prefix .. epoch
local ord = redis.call('INCR', base .. ':n') - 1
redis.call('EXPIREAT', base .. ':n', exat)
if ord >= 16777216 then return -1 end
local size = string.len(ARGV[4])
local chunk = base .. ':m:' .. math.floor(ord / 4096)
if redis.call('EXISTS', chunk) == 0 then
  redis.call('SET', chunk, string.rep('\\0', 4096 * size), 'EXAT', exat)
end
redis.call('SETRANGE', chunk, (ord % 4096) * size, ARGV[4])
local ref = string.char(math.floor(ord / 65536) % 256, math.floor(ord / 256) % 256, ord % 256)
local anchors = ARGV[5]
for i = 1, string.len(anchors), 5 do
  local hi, lo = string.byte(anchors, i, i + 1)
  local key = base .. ':a:' .. (hi * 256 + lo)
  -- APPEND, not GET + SET: a bucket (3.6 KB at a million stories) is not copied twice
  if redis.call('APPEND', key, string.sub(anchors, i + 2, i + 4) .. ref) == 6 then
    redis.call('EXPIREAT', key, exat)  -- just created: it expires with its epoch
  end
end
return ord
"""

# KEYS: none (names are built from ARGV[1]; single-node Redis only).
# ARGV[1] prefix  ARGV[2] number of epochs E  ARGV[3..2+E] epochs to probe
# ARGV[3+E] earliest unix time still inside the horizon  ARGV[4+E] common-at
# ARGV[5+E] min shared anchors  ARGV[6+E] max candidates  ARGV[7+E] anchors, 5 bytes each
# Returns {index generation, common anchor indexes (0-based), {hex id, threshold >> 32,
# count, hits, common hits}, ...} for the candidates sharing the most anchors.
FIND_FINGERPRINTS = """
local prefix, ne = ARGV[1], tonumber(ARGV[2])
local since, common_at = tonumber(ARGV[3 + ne]), tonumber(ARGV[4 + ne])
local min_hits, max_cands = tonumber(ARGV[5 + ne]), tonumber(ARGV[6 + ne])
local hits, chits, common = {}, {}, {}
local function matches(blob, tag, epoch, out)
  local pos = 1
  while true do
    local p = string.find(blob, tag, pos, true)
    if not p then return end
    if (p - 1) % 6 == 0 then
      local b1, b2, b3 = string.byte(blob, p + 3, p + 5)
      out[#out + 1] = epoch .. ':' .. (b1 * 65536 + b2 * 256 + b3)
      pos = p + 6
    else
      pos = p + 1
    end
  end
end
local live = {}
for e = 3, 2 + ne do
  if redis.call('EXISTS', prefix .. ARGV[e] .. ':n') == 1 then live[#live + 1] = ARGV[e] end
end
local anchors, n = ARGV[7 + ne], 0
for i = 1, string.len(anchors), 5 do
  local hi, lo = string.byte(anchors, i, i + 1)
  local bucket, tag, found = hi * 256 + lo, string.sub(anchors, i + 2, i + 4), {}
  for _, epoch in ipairs(live) do
    local blob = redis.call('GET', prefix .. epoch .. ':a:' .. bucket)
    if blob then matches(blob, tag, epoch, found) end
  end
  local into = hits
  if #found >= common_at then into = chits; common[#common + 1] = n end
  for _, ref in ipairs(found) do into[ref] = (into[ref] or 0) + 1 end
  n = n + 1
end
local ranked = {}
for ref, count in pairs(hits) do
  if count >= min_hits then ranked[#ranked + 1] = {ref, count} end
end
table.sort(ranked, function(a, b) return a[2] > b[2] end)
local out = {redis.call('GET', prefix .. 'gen') or '0', common}
for i = 1, math.min(#ranked, max_cands) do
  local ref, count = ranked[i][1], ranked[i][2]
  local sep = string.find(ref, ':', 1, true)
  local epoch, ord = string.sub(ref, 1, sep - 1), tonumber(string.sub(ref, sep + 1))
  local rec = redis.call('GETRANGE', prefix .. epoch .. ':m:' .. math.floor(ord / 4096),
                         (ord % 4096) * 21, (ord % 4096) * 21 + 20)
  if string.len(rec) == 21 then
    local b = {string.byte(rec, 1, 21)}
    local added = ((b[18] * 256 + b[19]) * 256 + b[20]) * 256 + b[21]
    if added >= since then
      local hex = {}
      for j = 1, 12 do hex[j] = string.format('%02x', b[j]) end
      local thr = ((b[13] * 256 + b[14]) * 256 + b[15]) * 256 + b[16]
      out[#out + 1] = {table.concat(hex), thr, b[17], count, chits[ref] or 0}
    end
  end
end
return out
"""


# --- hostgate ---

# take_slot: start a request to a host now if its limits allow, else say how long to wait.
# KEYS[1] slots ZSET  KEYS[2] next-start STRING  KEYS[3] held-until STRING
# ARGV[1] token  ARGV[2] per_host  ARGV[3] delay ms  ARGV[4] hold ms  ARGV[5] full-wait cap ms
# Returns 0 when the slot is taken (start now), a negative number -T while the host is held
# until Redis-clock ms T (do not wait), else milliseconds to wait before asking again.
TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = tonumber(redis.call('GET', KEYS[3]) or '0')
if held > now then return -held end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local wait = 0
local start = tonumber(redis.call('GET', KEYS[2]) or '0')
if start > now then wait = start - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, math.min(tonumber(first[2]) - now, tonumber(ARGV[5])))
end
if wait > 0 then return wait end
local hold = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], hold)
local delay = tonumber(ARGV[3])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay) end
return 0
"""

# defer_host: no request to the host starts for ARGV[1] ms (never brings a start forward).
# KEYS[1] next-start STRING  ARGV[1] ms
# Returns the Redis-clock ms of the host's next start.
DEFER_HOST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local start = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if start > current then
  redis.call('SET', KEYS[1], start, 'PX', ARGV[1])
  return start
end
return current
"""

# hold_host: the host is rate limited for ARGV[2] ms (never shortens a hold).
# KEYS[1] held-until STRING  KEYS[2] held-hosts ZSET  ARGV[1] host  ARGV[2] ms
# Returns the Redis-clock ms the hold ends.
HOLD_HOST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ends = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if ends <= current then return current end
redis.call('SET', KEYS[1], ends, 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ends, ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then  -- the index ends with its last hold
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return ends
"""

# held_hosts: every host held now, with the Redis-clock ms its hold ends (drops ended ones).
# KEYS[1] held-hosts ZSET.  Returns a flat list host, ms, host, ms...
HELD_HOSTS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
"""


# --- leases ---

# release: delete the leases this replica still holds (never another's) and leave the set.
# KEYS[1] replicas ZSET  KEYS[2..] lease keys  ARGV[1] replica id
# Returns how many leases were released.
RELEASE_LEASE = """
local released = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
return released
"""

_CLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# The replica's heartbeat, and its fair share of the sources. ARGV[1] replica id,
# ARGV[2] lease ms, ARGV[3] sources configured; KEYS[1] the replicas ZSET. Sets ``share``.
_HEARTBEAT = """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local share = math.ceil(tonumber(ARGV[3]) / redis.call('ZCARD', KEYS[1]))
"""

# schedule_sources: put every configured source in the due queue (due now, or when the
# resting marker a previous daemon left ends: a restart keeps the schedule), drop sources no
# longer configured, and set each source's interval (kept when learned and within bounds).
# KEYS[1] due ZSET  KEYS[2] intervals HASH
# ARGV[1] resting-key prefix, then per source: name, interval ms, min ms, max ms.
SCHEDULE_SOURCES = (
    _CLOCK
    + """
local configured = {}
for i = 2, #ARGV, 4 do
  local name = ARGV[i]
  local lo, hi = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  configured[name] = true
  local every = tonumber(redis.call('HGET', KEYS[2], name) or ARGV[i + 1])
  if every < lo or every > hi then every = tonumber(ARGV[i + 1]) end
  redis.call('HSET', KEYS[2], name, every)
  local due = tonumber(redis.call('ZSCORE', KEYS[1], name) or '-1')
  if due < 0 then
    due = now + math.max(0, redis.call('PTTL', ARGV[1] .. name))
  elseif due > now + every then
    due = now + every  -- a shorter interval takes effect now, not after the old one
  end
  redis.call('ZADD', KEYS[1], due, name)
end
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not configured[name] then
    redis.call('ZREM', KEYS[1], name)
    redis.call('HDEL', KEYS[2], name)
  end
end
"""
)

# claim_due_sources: hand in the polls that ended (due again one interval after each started), then
# claim up to ARGV[5] due sources that are ours or free (within our share): take or renew each
# lease, start its resting period and park it in the queue until the poll ends (or, if this
# replica dies, for at least a lease). Then say when the next source is due.
# KEYS[1] replicas ZSET  KEYS[2] due ZSET  KEYS[3] intervals HASH
# ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] sources configured  ARGV[4] leases held
# ARGV[5] most to claim  ARGV[6] lease-key prefix  ARGV[7] resting-key prefix
# ARGV[8] polls ended F, then F triples: source, Redis-clock ms its poll started, ms before
# which it must not be due (a host hold; 0: none).
# Returns {now ms, ms until the next due source or -1, due sources left to others, claimed...}.
CLAIM_DUE_SOURCES = (
    _CLOCK
    + _HEARTBEAT
    + """
local me, lease = ARGV[1], tonumber(ARGV[2])
local held, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local lp, rp = ARGV[6], ARGV[7]
for i = 9, 8 + 3 * tonumber(ARGV[8]), 3 do
  local name = ARGV[i]
  if redis.call('GET', lp .. name) == me then
    local due = tonumber(ARGV[i + 1]) + tonumber(redis.call('HGET', KEYS[3], name) or ARGV[2])
    due = math.max(due, tonumber(ARGV[i + 2]))
    if due > now then
      redis.call('SET', rp .. name, me, 'PX', due - now)
    else
      due = now
      redis.call('DEL', rp .. name)
    end
    redis.call('ZADD', KEYS[2], 'XX', due, name)
  end
end
local out = {now, -1, 0}
if limit > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit * 4 + 64)
  for _, name in ipairs(due) do
    if #out - 3 >= limit then break end
    local holder = redis.call('GET', lp .. name)
    if (holder and holder ~= me) or (not holder and held >= share) then
      out[3] = out[3] + 1
    else
      local resting = redis.call('PTTL', rp .. name)
      if resting > 0 then  -- not due after all (its marker was set elsewhere): catch up
        redis.call('ZADD', KEYS[2], now + resting, name)
      else
        local every = tonumber(redis.call('HGET', KEYS[3], name) or ARGV[2])
        redis.call('SET', lp .. name, me, 'PX', lease)
        if not holder then held = held + 1 end
        redis.call('SET', rp .. name, me, 'PX', every)
        redis.call('ZADD', KEYS[2], now + math.max(every, lease), name)
        out[#out + 1] = name
      end
    end
  end
end
local nxt = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #nxt > 0 then out[2] = tonumber(nxt[2]) - now end
return out
"""
)

# renew_leases: push back every lease this replica still holds, and hand back those above its share
# (only the first ARGV[5] names: the ones not being polled here now).
# KEYS[1] replicas ZSET  ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] sources configured
# ARGV[4] lease-key prefix  ARGV[5] idle names N, then the names, the idle N first.
# Returns one number per name: 0 lost (another holds it, or it expired), 1 kept, 2 handed back.
RENEW_LEASES = (
    _CLOCK
    + _HEARTBEAT
    + """
local me, lp, idle = ARGV[1], ARGV[4], tonumber(ARGV[5])
local result, kept = {}, 0
for i = 6, #ARGV do
  if redis.call('GET', lp .. ARGV[i]) == me then
    redis.call('PEXPIRE', lp .. ARGV[i], ARGV[2])
    result[i - 5] = 1
    kept = kept + 1
  else
    result[i - 5] = 0
  end
end
local excess = kept - share
for i = 1, math.min(idle, #ARGV - 5) do
  if excess <= 0 then break end
  if result[i] == 1 then
    redis.call('DEL', lp .. ARGV[i + 5])
    result[i] = 2
    excess = excess - 1
  end
end
return result
"""
)


# --- outbox ---

# claim_due: lease every retry that is due, so one replica (of several) attempts it. A crash
# mid-attempt only delays it until the lease ends; the next claim picks it up again.
# KEYS[1] retries ZSET   ARGV[1] now (Unix s)   ARGV[2] lease end (Unix s)   ARGV[3] max count
# Returns the claimed stream ids.
CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""

# close_digest: turn one closed digest period into a scheduled event, once across replicas.
# KEYS[1] the period's stories HASH   KEYS[2] periods ZSET   KEYS[3] events HASH
# KEYS[4] retries ZSET   ARGV[1] period member   ARGV[2] digest id   ARGV[3] record JSON
# ARGV[4] stories it was built from   ARGV[5] due (Unix s)
# Returns 1 when scheduled (or nothing to send), 0 when the period changed meanwhile.
CLOSE_DIGEST = """
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[4]) then return 0 end
if tonumber(ARGV[4]) > 0 and redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
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
# ARGV[10] the brief: a JSON object of its fields (strings)
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
for field, value in pairs(cjson.decode(ARGV[10])) do redis.call('HSET', KEYS[1], field, value) end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""
