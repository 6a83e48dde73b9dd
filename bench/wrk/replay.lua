-- wrk script for bench/run: sends pre-signed, unique requests (no crypto
-- here: the signatures were computed before the run), each exactly once
-- unless the run outlasts the file (bench/run sizes it so it does not; a
-- wrap shows up as 401 replays in the non-2xx count).
--
--   BENCH_TEMPLATE=file   line 1: scheme (stripe | salesforce)
--                         line 2: the signed timestamp
--                         line 3: the path
--                         line 4: the body, "@ID@" where the unique id goes
--   BENCH_IDS=prefix      files prefix.0 .. prefix.N-1, one per wrk thread
--                         (no request is sent by two threads), lines of
--                         "<id> <hex signature>"
--   BENCH_THREADS=N       the same N as wrk's -t (or the number of wrk
--                         processes, when bench/run runs one per core)
--   BENCH_IDS_FIRST=K     optional: thread i reads prefix.(K+i)
--   BENCH_RATE=R          optional: pace the whole run at R requests/s
--   BENCH_COUNT_STATUS=1  optional: count every status (slower)
--
-- done() prints one "bench key value" line per figure for bench/run.

local ffi = require "ffi"

local next_index = 1
local fixed_body
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

local function read_template(path)
    local f = assert(io.open(path, "rb"))
    local scheme = f:read("*l")
    local t = f:read("*l")
    local uri = f:read("*l")
    local body = f:read("*l")
    f:close()
    local parts = {}
    local pos = 1
    while true do
        local s, e = body:find("@ID@", pos, true)
        if not s then break end
        parts[#parts + 1] = body:sub(pos, s - 1)
        pos = e + 1
    end
    parts[#parts + 1] = body:sub(pos)
    return scheme, t, uri, parts
end

-- The ids file is kept as one string and an FFI array of line offsets,
-- and every request is put together in one C buffer and made a Lua string
-- once: the GC never walks a table of a million strings. (It did, per
-- thread, when every line became two strings of its own: wrk's CPU per
-- request then rose three-fold in some runs and not in others, as the
-- collector's cycles over that heap fell, which put runs into a slow mode
-- that had nothing to do with the server.) LuaJIT interns every string,
-- and its hash of a long string samples a few bytes only, so an "X-Pad"
-- header of 0..255 bytes still spreads the requests over 256 lengths; the
-- same for every configuration.
wrapped = 0   -- global: done() reads it from each thread
local data, offsets, nlines, buf
local prefix, sighead, scheme_sf, sf_mid, p1, p2, p3, nparts
local pad = string.rep("p", 255)
local lengths = {}

local function put(pos, s)
    ffi.copy(buf + pos, s, #s)
    return pos + #s
end

local function put_bytes(pos, ptr, len)
    ffi.copy(buf + pos, ptr, len)
    return pos + len
end

function init(args)
    local scheme, t, uri, parts = read_template(os.getenv("BENCH_TEMPLATE"))
    local fixed = 0
    for _, p in ipairs(parts) do fixed = fixed + #p end
    local file = id + tonumber(os.getenv("BENCH_IDS_FIRST") or "0")
    local f = assert(io.open(os.getenv("BENCH_IDS") .. "." .. file, "rb"))
    data = f:read("*a")
    f:close()

    local bytes = ffi.cast("const uint8_t *", data)
    local n = 0
    for i = 0, #data - 1 do
        if bytes[i] == 10 then n = n + 1 end
    end
    if #data > 0 and bytes[#data - 1] ~= 10 then n = n + 1 end
    assert(n > 0, "no requests in the ids file")
    -- per line: start, length of the nonce, start of the signature, its length
    offsets = ffi.new("int32_t[?]", 4 * n)
    local line, start, space = 0, 0, -1
    for i = 0, #data do
        local c = i < #data and bytes[i] or 10
        if c == 32 and space < 0 then
            space = i
        elseif c == 10 then
            if i > start then
                assert(space > start, "a line without a signature")
                offsets[4 * line] = start
                offsets[4 * line + 1] = space - start
                offsets[4 * line + 2] = space + 1
                offsets[4 * line + 3] = i - space - 1
                line = line + 1
            end
            start, space = i + 1, -1
        end
    end
    nlines = line

    scheme_sf = scheme ~= "stripe"
    sf_mid = "X-SF-Timestamp: " .. t .. "\r\nX-SF-Nonce: "
    sighead = scheme_sf and "X-SF-Signature: sha256=" or
              ("Stripe-Signature: t=" .. t .. ",v1=")
    prefix = "POST " .. uri .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             .. "Content-Type: application/json\r\n"
    p1, p2, p3, nparts = parts[1], parts[2], parts[3], #parts
    assert(nparts == 2 or nparts == 3, "one or two @ID@ in the body")
    fixed_body = fixed
    buf = ffi.new("uint8_t[?]", fixed + 4096)
end

-- the request's headers after the signature: pad, length, blank line
local function tail(pos, n, nonce_len)
    local cl = lengths[nonce_len]
    if not cl then
        cl = "\r\nContent-Length: " .. (fixed_body + nonce_len * (nparts - 1))
             .. "\r\n\r\n"
        lengths[nonce_len] = cl
    end
    pos = put(pos, "X-Pad: ")
    pos = put_bytes(pos, pad, n % 256)
    return put(pos, cl)
end

function request()
    local i = next_index
    next_index = i + 1
    if next_index > nlines then
        next_index = 1
        wrapped = wrapped + 1
    end
    local o = 4 * (i - 1)
    local base = ffi.cast("const uint8_t *", data)
    local nonce, nonce_len = base + offsets[o], offsets[o + 1]
    local sig, sig_len = base + offsets[o + 2], offsets[o + 3]

    local pos = put(0, prefix)
    pos = put(pos, sighead)
    pos = put_bytes(pos, sig, sig_len)
    pos = put(pos, "\r\n")
    if scheme_sf then
        pos = put(pos, sf_mid)
        pos = put_bytes(pos, nonce, nonce_len)
        pos = put(pos, "\r\n")
    end
    pos = tail(pos, i, nonce_len)
    pos = put(pos, p1)
    pos = put_bytes(pos, nonce, nonce_len)
    pos = put(pos, p2)
    if nparts == 3 then
        pos = put_bytes(pos, nonce, nonce_len)
        pos = put(pos, p3)
    end
    return ffi.string(buf, pos)
end

-- pacing: every request gets the next slot of a fixed schedule for this
-- thread; wrk holds it back until then (whole milliseconds), so the rate
-- holds whatever the latency, and wrk's latency clock starts at the send
local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate then
    ffi.cdef [[
        typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
        int clock_gettime(int clk, bench_timespec *ts);
    ]]
    local ts = ffi.new("bench_timespec")
    local function now_ms()
        ffi.C.clock_gettime(1, ts)
        return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
    local interval, next_slot
    function delay()
        local now = now_ms()
        if not next_slot then
            local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
            interval = 1000 * nthreads / rate
            next_slot = now
        end
        local wait = next_slot - now
        next_slot = next_slot + interval
        if wait < 0 then
            -- behind schedule (a slow response): do not burst to catch up
            -- more than one interval's worth
            if wait < -interval then next_slot = now + interval end
            return 0
        end
        return math.floor(wait + 0.5)
    end
end

if os.getenv("BENCH_COUNT_STATUS") == "1" then
    counts = {}
    function response(status, headers, body)
        counts[status] = (counts[status] or 0) + 1
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("bench requests %d\n", summary.requests))
    io.write(string.format("bench duration_us %d\n", summary.duration))
    io.write(string.format("bench non2xx %d\n", e.status))
    io.write(string.format("bench socket_errors %d\n",
                           e.connect + e.read + e.write + e.timeout))
    io.write(string.format("bench timeouts %d\n", e.timeout))
    for _, p in ipairs({ 50, 90, 99, 99.9 }) do
        io.write(string.format("bench p%s_us %d\n", tostring(p),
                               latency:percentile(p)))
    end
    io.write(string.format("bench mean_us %.1f\n", latency.mean))
    io.write(string.format("bench max_us %d\n", latency.max))
    local w = 0
    for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
    io.write(string.format("bench wrapped %d\n", w))
    if counts then
        local total = {}
        for _, t in ipairs(threads) do
            for status, n in pairs(t:get("counts") or {}) do
                total[status] = (total[status] or 0) + n
            end
        end
        for status, n in pairs(total) do
            io.write(string.format("bench status_%d %d\n", status, n))
        end
    end
end
