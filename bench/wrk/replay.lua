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

-- LuaJIT interns every string, and its hash of a long string samples a
-- few bytes only (start, end, middle, quarter): requests that differ only
-- in the id all hash alike, and every new one is memcmp'd against the
-- not-yet-collected others (that cost 100 us per request). So each
-- request is made in one concatenation, and an "X-Pad" header of 0..255
-- bytes spreads them over 256 lengths; the same for every configuration.
local heads, nonces = {}, {}
wrapped = 0   -- global: done() reads it from each thread
local p1, p2, p3, nparts

function init(args)
    local scheme, t, uri, parts = read_template(os.getenv("BENCH_TEMPLATE"))
    local fixed = 0
    for _, p in ipairs(parts) do fixed = fixed + #p end
    local file = id + tonumber(os.getenv("BENCH_IDS_FIRST") or "0")
    for line in io.lines(os.getenv("BENCH_IDS") .. "." .. file) do
        do
            local nonce, sig = line:match("^(%S+) (%x+)$")
            local head
            if scheme == "stripe" then
                head = "Stripe-Signature: t=" .. t .. ",v1=" .. sig .. "\r\n"
            else
                head = "X-SF-Signature: sha256=" .. sig .. "\r\n"
                       .. "X-SF-Timestamp: " .. t .. "\r\n"
                       .. "X-SF-Nonce: " .. nonce .. "\r\n"
            end
            local n = #heads + 1
            heads[n] = head .. "X-Pad: " .. string.rep("p", n % 256) .. "\r\n"
                       .. "Content-Length: " .. (fixed + #nonce * (#parts - 1))
                       .. "\r\n\r\n"
            nonces[n] = nonce
        end
    end
    prefix = "POST " .. uri .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             .. "Content-Type: application/json\r\n"
    p1, p2, p3, nparts = parts[1], parts[2], parts[3], #parts
    assert(nparts == 2 or nparts == 3, "one or two @ID@ in the body")
end

function request()
    local i = next_index
    next_index = i + 1
    if next_index > #heads then
        next_index = 1
        wrapped = wrapped + 1
    end
    local nonce = nonces[i]
    if nparts == 2 then
        return prefix .. heads[i] .. p1 .. nonce .. p2
    end
    return prefix .. heads[i] .. p1 .. nonce .. p2 .. nonce .. p3
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
