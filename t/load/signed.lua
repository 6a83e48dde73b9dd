-- wrk script: replays pre-signed requests from a file, in order, each
-- twice (the second copy is a replay the edge must refuse), and counts
-- the statuses it sees. The load generator does no crypto.
--
-- The list is never sent a second time: a delivery sent again long after
-- its first pair is not the replay the test means (its copies may be
-- decided by different stores across a Redis outage). Once a thread has
-- sent its share, it sends "GET /drain" until wrk's time is up; the
-- server answers those 204, and they are counted as "drained", not as
-- statuses.
--
--   WEBHOOK_REQUESTS=file   lines of "<hex signature> <body>"
--   WEBHOOK_THREADS=N       the same N as wrk's -t

local requests = {}
local next_index = 1
local drain   -- formatted in init(), once wrk has set its Host header
counts = {}   -- global: done() reads it from each thread
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

-- each thread takes its own share of the lines: nothing is sent by two
-- threads, so every delivery is sent exactly twice. A thread's init() may
-- run before the next thread exists, so the count comes from the caller.
function init(args)
    local path = os.getenv("WEBHOOK_REQUESTS")
    local nthreads = tonumber(os.getenv("WEBHOOK_THREADS") or "1")
    local lineno = 0
    drain = wrk.format("GET", "/drain")
    for line in io.lines(path) do
        if lineno % nthreads == id then
            local sig, body = line:match("^(%x+) (.*)$")
            local r = wrk.format("POST", "/hook", {
                ["X-Hub-Signature-256"] = "sha256=" .. sig,
                ["Content-Type"] = "application/json",
            }, body)
            table.insert(requests, r)
            table.insert(requests, r)
        end
        lineno = lineno + 1
    end
end

function request()
    local r = requests[next_index]
    if r == nil then
        return drain
    end
    next_index = next_index + 1
    return r
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local c = t:get("counts")
        for status, n in pairs(c) do
            total[status] = (total[status] or 0) + n
        end
    end
    for status, n in pairs(total) do
        if status == 204 then
            io.write(string.format("drained %d\n", n))
        else
            io.write(string.format("status %d %d\n", status, n))
        end
    end
end
