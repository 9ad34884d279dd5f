/* Made by scripts/lua-to-c.sh from redis_limits.lua: edit that file. */
#define REDIS_LIMITS_SHA1 "e2b23fd980cc58daea85691fe9d5033edef6ed6e"
#define REDIS_LIMITS_LUA \
    "local op = ARGV[1]\n" \
    "if op == 'kills' then\n" \
    "    return redis.call('HGETALL', KEYS[1])\n" \
    "end\n" \
    "local t = redis.call('TIME')\n" \
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n" \
    "local CLOSED, OPEN, HALF_OPEN = 0, 1, 2\n" \
    "local MAX_PROBES = 16\n" \
    "local function breaker_load(key)\n" \
    "    local flat = redis.call('HGETALL', key)\n" \
    "    local b = {st = CLOSED, f = 0, s = 0, since = 0, o = {}, d = {}}\n" \
    "    for i = 1, #flat, 2 do\n" \
    "        local k, v = flat[i], flat[i + 1]\n" \
    "        local c = string.sub(k, 1, 1)\n" \
    "        if k == 'st' or k == 'f' or k == 's' or k == 'since' then\n" \
    "            b[k] = tonumber(v) or 0\n" \
    "        elseif c == 'o' then\n" \
    "            b.o[tonumber(string.sub(k, 2))] = v\n" \
    "        elseif c == 'd' then\n" \
    "            b.d[tonumber(string.sub(k, 2))] = tonumber(v) or 0\n" \
    "        end\n" \
    "    end\n" \
    "    return b\n" \
    "end\n" \
    "local function breaker_store(key, b, ttl_ms)\n" \
    "    redis.call('DEL', key)\n" \
    "    local flat = {'st', b.st, 'f', b.f, 's', b.s, 'since', b.since}\n" \
    "    for i = 1, MAX_PROBES do\n" \
    "        if b.o[i] then\n" \
    "            flat[#flat + 1] = 'o' .. i\n" \
    "            flat[#flat + 1] = b.o[i]\n" \
    "            flat[#flat + 1] = 'd' .. i\n" \
    "            flat[#flat + 1] = b.d[i] or 0\n" \
    "        end\n" \
    "    end\n" \
    "    redis.call('HSET', key, unpack(flat))\n" \
    "    redis.call('PEXPIRE', key, ttl_ms)\n" \
    "end\n" \
    "local function set_state(b, to, ev)\n" \
    "    if b.st ~= to then\n" \
    "        ev.changed, ev.from, ev.to = 1, b.st, to\n" \
    "    end\n" \
    "    b.st, b.since, b.f, b.s, b.o, b.d = to, now, 0, 0, {}, {}\n" \
    "end\n" \
    "local function lease_free(b, i)\n" \
    "    return b.o[i] == nil or now >= (b.d[i] or 0)\n" \
    "end\n" \
    "local function breaker_admit(b, probes, open_us, probe_us, owner, ev)\n" \
    "    if b.st == CLOSED then\n" \
    "        return 'pass', 0\n" \
    "    end\n" \
    "    if b.st == OPEN then\n" \
    "        local elapsed = math.max(now - b.since, 0)\n" \
    "        if elapsed < open_us then\n" \
    "            return 'refuse', open_us - elapsed\n" \
    "        end\n" \
    "        set_state(b, HALF_OPEN, ev)\n" \
    "    end\n" \
    "    for i = 1, probes do\n" \
    "        if lease_free(b, i) then\n" \
    "            b.o[i], b.d[i] = owner, now + probe_us\n" \
    "            return 'probe', 0\n" \
    "        end\n" \
    "    end\n" \
    "    return 'refuse', 0\n" \
    "end\n" \
    "local function bucket_decide(key, interval, tau)\n" \
    "    local tat = tonumber(redis.call('GET', key) or '0') or 0\n" \
    "    if tat > now + tau + interval + 60000000 then\n" \
    "        tat = 0 -- not from this clock: a scribbled or foreign value\n" \
    "    end\n" \
    "    local base = math.max(tat, now)\n" \
    "    if base - now > tau then\n" \
    "        return false, base - now - tau\n" \
    "    end\n" \
    "    return true, base + interval\n" \
    "end\n" \
    "local RING = 61\n" \
    "local RING_FORMAT = '<dI4' .. string.rep('I4', RING)\n" \
    "local function ring_load(key)\n" \
    "    local packed = redis.call('GET', key)\n" \
    "    local r = {newest = 0, used = 0, c = {}}\n" \
    "    if packed and #packed == 8 + 4 * (RING + 1) then\n" \
    "        local v = {struct.unpack(RING_FORMAT, packed)}\n" \
    "        r.newest, r.used = v[1], v[2]\n" \
    "        for i = 0, RING - 1 do\n" \
    "            r.c[i] = v[3 + i]\n" \
    "        end\n" \
    "    else\n" \
    "        for i = 0, RING - 1 do\n" \
    "            r.c[i] = 0\n" \
    "        end\n" \
    "    end\n" \
    "    return r\n" \
    "end\n" \
    "local function ring_store(key, r, slot_us)\n" \
    "    local v = {r.newest, r.used}\n" \
    "    for i = 0, RING - 1 do\n" \
    "        v[3 + i] = r.c[i]\n" \
    "    end\n" \
    "    redis.call('SET', key, struct.pack(RING_FORMAT, unpack(v)),\n" \
    "               'PX', math.ceil(slot_us * (RING + 1) / 1000))\n" \
    "end\n" \
    "local function ring_advance(r, slot_us)\n" \
    "    local slot = math.floor(now / slot_us)\n" \
    "    if slot <= r.newest then\n" \
    "        return -- the same slot, or a clock stepped back: keep counting\n" \
    "    end\n" \
    "    if slot - r.newest >= RING then\n" \
    "        for i = 0, RING - 1 do\n" \
    "            r.c[i] = 0\n" \
    "        end\n" \
    "        r.used = 0\n" \
    "    else\n" \
    "        for s = r.newest + 1, slot do\n" \
    "            local i = s % RING\n" \
    "            r.used = r.used - r.c[i]\n" \
    "            r.c[i] = 0\n" \
    "        end\n" \
    "    end\n" \
    "    r.newest = slot\n" \
    "end\n" \
    "local function ring_retry(r, slot_us)\n" \
    "    for s = math.max(r.newest - (RING - 1), 0), r.newest do\n" \
    "        if r.c[s % RING] > 0 then\n" \
    "            return math.max((s + RING) * slot_us - now, 0)\n" \
    "        end\n" \
    "    end\n" \
    "    return 0\n" \
    "end\n" \
    "if op == 'admit' then\n" \
    "    local owner = ARGV[2]\n" \
    "    local probes, open_us, probe_us = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n" \
    "    local interval, tau = tonumber(ARGV[6]), tonumber(ARGV[7])\n" \
    "    local tq_max, aq_max = tonumber(ARGV[8]), tonumber(ARGV[10])\n" \
    "    local k = 0\n" \
    "    local function key_if(present)\n" \
    "        if present then\n" \
    "            k = k + 1\n" \
    "            return KEYS[k]\n" \
    "        end\n" \
    "    end\n" \
    "    local kb, kt = key_if(probes > 0), key_if(interval > 0)\n" \
    "    local quotas = {{key_if(tq_max > 0), tq_max, tonumber(ARGV[9]), tonumber(ARGV[13])},\n" \
    "                    {key_if(aq_max > 0), aq_max, tonumber(ARGV[11]), tonumber(ARGV[14])}}\n" \
    "    local kagents = key_if(true)\n" \
    "    for q = 1, 2 do\n" \
    "        quotas[q][5] = key_if(quotas[q][2] > 0 and quotas[q][4] >= 0)\n" \
    "    end\n" \
    "    local reason, retry = 0, -1\n" \
    "    local function consider(code, wait)\n" \
    "        if reason == 0 or wait > retry then\n" \
    "            reason, retry = code, wait\n" \
    "        end\n" \
    "    end\n" \
    "    local ev = {changed = 0, from = 0, to = 0}\n" \
    "    local b, verdict\n" \
    "    if probes > 0 then\n" \
    "        b = breaker_load(kb)\n" \
    "        local wait\n" \
    "        verdict, wait = breaker_admit(b, probes, open_us, probe_us, owner, ev)\n" \
    "        if verdict == 'refuse' then\n" \
    "            consider(1, wait)\n" \
    "        end\n" \
    "    end\n" \
    "    local new_tat\n" \
    "    if interval > 0 then\n" \
    "        local ok, v = bucket_decide(kt, interval, tau)\n" \
    "        if ok then new_tat = v else consider(2, v) end\n" \
    "    end\n" \
    "    local rings = {}\n" \
    "    for q = 1, 2 do\n" \
    "        local key, max, slot_us = quotas[q][1], quotas[q][2], quotas[q][3]\n" \
    "        if max > 0 then\n" \
    "            local r = ring_load(key)\n" \
    "            ring_advance(r, slot_us)\n" \
    "            if r.used >= max then\n" \
    "                consider(3, ring_retry(r, slot_us))\n" \
    "            end\n" \
    "            rings[q] = r\n" \
    "        end\n" \
    "    end\n" \
    "    redis.call('SADD', kagents, ARGV[12])\n" \
    "    if reason ~= 0 then\n" \
    "        return {1, reason, retry, 0, 0, 0, 0, 0, 0, 0, 0} -- a refusal spends nothing\n" \
    "    end\n" \
    "    if new_tat then\n" \
    "        redis.call('SET', kt, string.format('%d', new_tat),\n" \
    "                   'PX', math.ceil((new_tat - now) / 1000) + 1000)\n" \
    "    end\n" \
    "    local low = {0, 0, 0, 0}\n" \
    "    for q = 1, 2 do\n" \
    "        local r = rings[q]\n" \
    "        if r then\n" \
    "            local i = r.newest % RING\n" \
    "            r.c[i] = r.c[i] + 1\n" \
    "            r.used = r.used + 1\n" \
    "            ring_store(quotas[q][1], r, quotas[q][3])\n" \
    "            local left = math.max(quotas[q][2] - r.used, 0)\n" \
    "            low[2 * q] = left\n" \
    "            local window_ms = math.ceil(quotas[q][3] * (RING - 1) / 1000)\n" \
    "            if quotas[q][5] and left <= quotas[q][4] and\n" \
    "                redis.call('SET', quotas[q][5], '1', 'NX', 'PX', window_ms) then\n" \
    "                low[2 * q - 1] = 1\n" \
    "            end\n" \
    "        end\n" \
    "    end\n" \
    "    if b and b.st ~= CLOSED then\n" \
    "        breaker_store(kb, b, math.ceil((open_us + probe_us) / 1000) + 60000)\n" \
    "    end\n" \
    "    return {0, 0, 0, verdict == 'probe' and 1 or 0, ev.changed, ev.from, ev.to,\n" \
    "            low[1], low[2], low[3], low[4]}\n" \
    "end\n" \
    "if op == 'report' then\n" \
    "    local owner, outcome = ARGV[2], tonumber(ARGV[3])\n" \
    "    local failures, successes, ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n" \
    "    local b = breaker_load(KEYS[1])\n" \
    "    local ev = {changed = 0, from = 0, to = 0}\n" \
    "    local probe = false\n" \
    "    for i = 1, MAX_PROBES do\n" \
    "        if b.o[i] == owner then\n" \
    "            b.o[i], b.d[i] = nil, nil\n" \
    "            probe = true\n" \
    "        end\n" \
    "    end\n" \
    "    if outcome ~= 2 then\n" \
    "        if b.st == CLOSED then\n" \
    "            if outcome == 0 then\n" \
    "                b.f = 0\n" \
    "            else\n" \
    "                b.f = b.f + 1\n" \
    "                if b.f >= failures then\n" \
    "                    set_state(b, OPEN, ev)\n" \
    "                end\n" \
    "            end\n" \
    "        elseif b.st == HALF_OPEN then\n" \
    "            if outcome == 1 then\n" \
    "                set_state(b, OPEN, ev)\n" \
    "            elseif probe then\n" \
    "                b.s = b.s + 1\n" \
    "                if b.s >= successes then\n" \
    "                    set_state(b, CLOSED, ev)\n" \
    "                end\n" \
    "            end\n" \
    "        end\n" \
    "    end\n" \
    "    if b.st == CLOSED and b.f == 0 then\n" \
    "        redis.call('DEL', KEYS[1]) -- a closed breaker with no history is no key\n" \
    "    else\n" \
    "        breaker_store(KEYS[1], b, ttl_ms)\n" \
    "    end\n" \
    "    return {ev.changed, ev.from, ev.to}\n" \
    "end\n" \
    "return redis.error_reply('enact: unknown operation ' .. tostring(op))\n" \
    ""
