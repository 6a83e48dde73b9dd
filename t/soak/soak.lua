-- wrk script for the soak (t/soak/run): sends a pre-built stream of raw
-- requests, in order, once each, paced by delay(); counts the answers by
-- the class the edge echoes back in X-Soak. The generator does no crypto
-- and no formatting beyond splicing a slot number into a shared template.
--
--   SOAK_REQUESTS=file   records, each one of
--                          "R<len>\n<len bytes>"   a whole request
--                          "T<len>\n<len bytes>"   the next template; "@SLOT@"
--                                                  in it marks the slot number
--                          "@<k> <slot>\n"        template k for that slot
--   SOAK_SECONDS=N       real traffic for N seconds after init, then only
--                        GET /drain: requests still in flight when wrk
--                        stops are drains, never deliveries
--   SOAK_DELAY_MS=N      pause before each request on a connection

local stream = {}       -- a string, or { template, slot }
local templates = {}
local next_index = 1
local deadline
local pause

-- globals: done() reads them through thread:get()
counts = {}
exhausted = 0
local threads = {}

local drain = "GET /drain HTTP/1.1\r\nHost: localhost\r\n"
              .. "Connection: close\r\nX-Soak: drain\r\n\r\n"

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local f = assert(io.open(os.getenv("SOAK_REQUESTS"), "rb"))
    local data = f:read("*a")
    f:close()

    local pos = 1
    while pos <= #data do
        local nl = data:find("\n", pos, true)
        local head = data:sub(pos, nl - 1)
        pos = nl + 1
        local kind = head:sub(1, 1)
        if kind == "R" or kind == "T" then
            local len = tonumber(head:sub(2))
            local bytes = data:sub(pos, pos + len - 1)
            pos = pos + len
            if kind == "R" then
                table.insert(stream, bytes)
            else
                local before, after = bytes:match("^(.-)@SLOT@(.*)$")
                table.insert(templates, { before, after })
            end
        elseif kind == "@" then
            local k, slot = head:match("^@(%d+) (%d+)$")
            table.insert(stream, { templates[tonumber(k)], slot })
        else
            error("soak.lua: bad record header '" .. head .. "'")
        end
    end

    deadline = os.time() + tonumber(os.getenv("SOAK_SECONDS"))
    pause = tonumber(os.getenv("SOAK_DELAY_MS") or "25")
end

function delay()
    return pause
end

-- wrk calls request() once before the run to see how many requests one
-- call returns (its pipelining check); that call must not use a slot
local verified = false

function request()
    if not verified then
        verified = true
        return drain
    end
    if os.time() >= deadline then
        return drain
    end
    local r = stream[next_index]
    if r == nil then
        -- ran out before the deadline: the report fails the run
        exhausted = exhausted + 1
        return drain
    end
    next_index = next_index + 1
    if type(r) == "table" then
        return r[1][1] .. r[2] .. r[1][2]
    end
    return r
end

function response(status, headers, body)
    local tag = headers["X-Soak"]
    local class = tag and tag:match("^(%S+)") or "?"
    local key = class .. " " .. status
    counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
    for _, t in ipairs(threads) do
        for key, n in pairs(t:get("counts")) do
            io.write(string.format("count %s %d\n", key, n))
        end
        io.write(string.format("exhausted %d\n", t:get("exhausted")))
    end
    local e = summary.errors
    io.write(string.format("errors connect %d read %d write %d timeout %d\n",
                           e.connect, e.read, e.write, e.timeout))
    io.write(string.format("requests %d\n", summary.requests))
end
