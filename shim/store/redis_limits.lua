-- Enact's limits on Redis: one call of this script is one decision or one
-- outcome, checked and committed atomically (README "Running a fleet").
--
-- The same algorithms as the state file (shim/pure/bucket.c, quota.c,
-- breaker.c), in the server's clock: TIME, in microseconds since the
-- epoch (a double holds them exactly; nanoseconds would not fit its 53
-- bits). Every key of one fleet carries the same hash tag, so that a
-- Redis Cluster keeps them in one slot and this script may touch them all.
--
-- KEYS: the keys of the limits the call has, in this order: breaker,
-- bucket, tool quota, agent quota; then the set of agents; then, for each
-- quota with a warn level, the marker of its last quota_low. Only keys that
-- hold something are named: in a Redis Cluster a slot being migrated
-- answers a script whose keys are all there (or all gone: ASK), and a key
-- never written would keep it answering TRYAGAIN.
-- ARGV[1] "admit":
--   2 lease owner, 3 breaker probes (success_threshold; 0: no breaker),
--   4 open_us, 5 probe_us, 6 rate interval_us (0: no rate), 7 tau_us,
--   8 tool quota max (0: none), 9 its slot_us, 10 agent quota max, 11 slot_us,
--   12 the agent's name (for enact status),
--   13 the tool quota's warn level, 14 the agent quota's (-1: none)
--   -> {verdict (0 admitted, 1 refused), reason (0, 1 circuit_open,
--       2 rate_limited, 3 quota_exceeded), retry_us, probe (0/1),
--       breaker changed (0/1), from, to,
--       tool quota low (0/1), its actions left, agent quota low, left}
-- ARGV[1] "kills" (KEYS: {PREFIX}:kills): the fleet's kill switches, as
--   HGETALL gives them (redis_kills.h)
-- ARGV[1] "report" (KEYS: the breaker only):
--   2 lease owner, 3 outcome (0 success, 1 failure, 2 neutral),
--   4 failure_threshold, 5 success_threshold, 6 ttl_ms
--   -> {changed (0/1), from, to}

local op = ARGV[1]

-- A read: no clock, nothing written.
if op == 'kills' then
    return redis.call('HGETALL', KEYS[1])
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2
local MAX_PROBES = 16

-- A breaker as a hash: st, f (failures), s (successes), since (us),
-- o1..o16 lease owners, d1..d16 their deadlines (us).
local function breaker_load(key)
    local flat = redis.call('HGETALL', key)
    local b = {st = CLOSED, f = 0, s = 0, since = 0, o = {}, d = {}}
    for i = 1, #flat, 2 do
        local k, v = flat[i], flat[i + 1]
        local c = string.sub(k, 1, 1)
        if k == 'st' or k == 'f' or k == 's' or k == 'since' then
            b[k] = tonumber(v) or 0
        elseif c == 'o' then
            b.o[tonumber(string.sub(k, 2))] = v
        elseif c == 'd' then
            b.d[tonumber(string.sub(k, 2))] = tonumber(v) or 0
        end
    end
    return b
end

local function breaker_store(key, b, ttl_ms)
    redis.call('DEL', key)
    local flat = {'st', b.st, 'f', b.f, 's', b.s, 'since', b.since}
    for i = 1, MAX_PROBES do
        if b.o[i] then
            flat[#flat + 1] = 'o' .. i
            flat[#flat + 1] = b.o[i]
            flat[#flat + 1] = 'd' .. i
            flat[#flat + 1] = b.d[i] or 0
        end
    end
    redis.call('HSET', key, unpack(flat))
    redis.call('PEXPIRE', key, ttl_ms)
end

local function set_state(b, to, ev)
    if b.st ~= to then
        ev.changed, ev.from, ev.to = 1, b.st, to
    end
    b.st, b.since, b.f, b.s, b.o, b.d = to, now, 0, 0, {}, {}
end

local function lease_free(b, i)
    return b.o[i] == nil or now >= (b.d[i] or 0)
end

-- 'pass', 'probe' or 'refuse' (with the wait until a probe may go).
local function breaker_admit(b, probes, open_us, probe_us, owner, ev)
    if b.st == CLOSED then
        return 'pass', 0
    end
    if b.st == OPEN then
        local elapsed = math.max(now - b.since, 0)
        if elapsed < open_us then
            return 'refuse', open_us - elapsed
        end
        set_state(b, HALF_OPEN, ev)
    end
    for i = 1, probes do
        if lease_free(b, i) then
            b.o[i], b.d[i] = owner, now + probe_us
            return 'probe', 0
        end
    end
    return 'refuse', 0
end

-- A bucket is its theoretical arrival time (us); none is a full bucket.
local function bucket_decide(key, interval, tau)
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat > now + tau + interval + 60000000 then
        tat = 0 -- not from this clock: a scribbled or foreign value
    end
    local base = math.max(tat, now)
    if base - now > tau then
        return false, base - now - tau
    end
    return true, base + interval
end

-- A quota is a ring of 61 slot counters packed in one string: the newest
-- slot's number, the sum of counts, then the counts by slot mod 61.
local RING = 61
local RING_FORMAT = '<dI4' .. string.rep('I4', RING)

local function ring_load(key)
    local packed = redis.call('GET', key)
    local r = {newest = 0, used = 0, c = {}}
    if packed and #packed == 8 + 4 * (RING + 1) then
        local v = {struct.unpack(RING_FORMAT, packed)}
        r.newest, r.used = v[1], v[2]
        for i = 0, RING - 1 do
            r.c[i] = v[3 + i]
        end
    else
        for i = 0, RING - 1 do
            r.c[i] = 0
        end
    end
    return r
end

local function ring_store(key, r, slot_us)
    local v = {r.newest, r.used}
    for i = 0, RING - 1 do
        v[3 + i] = r.c[i]
    end
    redis.call('SET', key, struct.pack(RING_FORMAT, unpack(v)),
               'PX', math.ceil(slot_us * (RING + 1) / 1000))
end

local function ring_advance(r, slot_us)
    local slot = math.floor(now / slot_us)
    if slot <= r.newest then
        return -- the same slot, or a clock stepped back: keep counting
    end
    if slot - r.newest >= RING then
        for i = 0, RING - 1 do
            r.c[i] = 0
        end
        r.used = 0
    else
        for s = r.newest + 1, slot do
            local i = s % RING
            r.used = r.used - r.c[i]
            r.c[i] = 0
        end
    end
    r.newest = slot
end

local function ring_retry(r, slot_us)
    for s = math.max(r.newest - (RING - 1), 0), r.newest do
        if r.c[s % RING] > 0 then
            return math.max((s + RING) * slot_us - now, 0)
        end
    end
    return 0
end

if op == 'admit' then
    local owner = ARGV[2]
    local probes, open_us, probe_us = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
    local interval, tau = tonumber(ARGV[6]), tonumber(ARGV[7])
    local tq_max, aq_max = tonumber(ARGV[8]), tonumber(ARGV[10])
    local k = 0
    local function key_if(present)
        if present then
            k = k + 1
            return KEYS[k]
        end
    end
    local kb, kt = key_if(probes > 0), key_if(interval > 0)
    local quotas = {{key_if(tq_max > 0), tq_max, tonumber(ARGV[9]), tonumber(ARGV[13])},
                    {key_if(aq_max > 0), aq_max, tonumber(ARGV[11]), tonumber(ARGV[14])}}
    local kagents = key_if(true)
    for q = 1, 2 do
        quotas[q][5] = key_if(quotas[q][2] > 0 and quotas[q][4] >= 0)
    end

    -- Check every limit on copies; keep the refusal that lasts longest.
    local reason, retry = 0, -1
    local function consider(code, wait)
        if reason == 0 or wait > retry then
            reason, retry = code, wait
        end
    end
    local ev = {changed = 0, from = 0, to = 0}
    local b, verdict
    if probes > 0 then
        b = breaker_load(kb)
        local wait
        verdict, wait = breaker_admit(b, probes, open_us, probe_us, owner, ev)
        if verdict == 'refuse' then
            consider(1, wait)
        end
    end
    local new_tat
    if interval > 0 then
        local ok, v = bucket_decide(kt, interval, tau)
        if ok then new_tat = v else consider(2, v) end
    end
    local rings = {}
    for q = 1, 2 do
        local key, max, slot_us = quotas[q][1], quotas[q][2], quotas[q][3]
        if max > 0 then
            local r = ring_load(key)
            ring_advance(r, slot_us)
            if r.used >= max then
                consider(3, ring_retry(r, slot_us))
            end
            rings[q] = r
        end
    end
    redis.call('SADD', kagents, ARGV[12])
    if reason ~= 0 then
        return {1, reason, retry, 0, 0, 0, 0, 0, 0, 0, 0} -- a refusal spends nothing
    end

    if new_tat then
        redis.call('SET', kt, string.format('%d', new_tat),
                   'PX', math.ceil((new_tat - now) / 1000) + 1000)
    end
    -- A quota that falls to its warn level says so once per window, in
    -- the whole fleet: the marker lives one window.
    local low = {0, 0, 0, 0}
    for q = 1, 2 do
        local r = rings[q]
        if r then
            local i = r.newest % RING
            r.c[i] = r.c[i] + 1
            r.used = r.used + 1
            ring_store(quotas[q][1], r, quotas[q][3])
            local left = math.max(quotas[q][2] - r.used, 0)
            low[2 * q] = left
            local window_ms = math.ceil(quotas[q][3] * (RING - 1) / 1000)
            if quotas[q][5] and left <= quotas[q][4] and
                redis.call('SET', quotas[q][5], '1', 'NX', 'PX', window_ms) then
                low[2 * q - 1] = 1
            end
        end
    end
    if b and b.st ~= CLOSED then
        breaker_store(kb, b, math.ceil((open_us + probe_us) / 1000) + 60000)
    end
    return {0, 0, 0, verdict == 'probe' and 1 or 0, ev.changed, ev.from, ev.to,
            low[1], low[2], low[3], low[4]}
end

if op == 'report' then
    local owner, outcome = ARGV[2], tonumber(ARGV[3])
    local failures, successes, ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
    local b = breaker_load(KEYS[1])
    local ev = {changed = 0, from = 0, to = 0}
    local probe = false
    for i = 1, MAX_PROBES do
        if b.o[i] == owner then
            b.o[i], b.d[i] = nil, nil
            probe = true
        end
    end
    if outcome ~= 2 then
        if b.st == CLOSED then
            if outcome == 0 then
                b.f = 0
            else
                b.f = b.f + 1
                if b.f >= failures then
                    set_state(b, OPEN, ev)
                end
            end
        elseif b.st == HALF_OPEN then
            -- Any failure is evidence; only a probe's success shows recovery.
            if outcome == 1 then
                set_state(b, OPEN, ev)
            elseif probe then
                b.s = b.s + 1
                if b.s >= successes then
                    set_state(b, CLOSED, ev)
                end
            end
        end
    end
    if b.st == CLOSED and b.f == 0 then
        redis.call('DEL', KEYS[1]) -- a closed breaker with no history is no key
    else
        breaker_store(KEYS[1], b, ttl_ms)
    end
    return {ev.changed, ev.from, ev.to}
end

return redis.error_reply('enact: unknown operation ' .. tostring(op))
