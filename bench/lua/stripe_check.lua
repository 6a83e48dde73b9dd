-- The Stripe check of bench/run's "lua-*" configurations, written to be the
-- honest equivalent of `webhook_verify stripe` (access phase, before the
-- proxy): Stripe-Signature "t=..,v1=..[,v1=..]" parsed, the timestamp inside
-- the tolerance both ways, HMAC-SHA256 of "<t>.<body>" through libcrypto
-- (LuaJIT FFI; the key state is set up once per worker and reused, as the
-- module does with a literal secret), the hex compared with CRYPTO_memcmp,
-- the matched signature as the nonce: 400/401 on failure, 503 when the
-- nonce store cannot answer.
--
-- What it does not do (the module does): release the nonce when the
-- upstream fails, counters, the JSON error bodies' exact texts, the
-- allowlist. So this is, if anything, slightly cheaper than the module.
--
-- Environment (read once per worker; `env` lines in nginx.conf):
--   BENCH_STRIPE_SECRET, BENCH_STRIPE_TOLERANCE (s), BENCH_REDIS_PORT

local ffi = require "ffi"
local C = ffi.C

ffi.cdef [[
typedef struct hmac_ctx_st HMAC_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;
const EVP_MD *EVP_sha256(void);
HMAC_CTX *HMAC_CTX_new(void);
int HMAC_Init_ex(HMAC_CTX *ctx, const void *key, int len, const EVP_MD *md,
                 ENGINE *impl);
int HMAC_Update(HMAC_CTX *ctx, const unsigned char *data, size_t len);
int HMAC_Final(HMAC_CTX *ctx, unsigned char *md, unsigned int *len);
int CRYPTO_memcmp(const void *a, const void *b, size_t len);
]]

local secret = os.getenv("BENCH_STRIPE_SECRET") or ""
local tolerance = tonumber(os.getenv("BENCH_STRIPE_TOLERANCE") or "300")
local redis_port = tonumber(os.getenv("BENCH_REDIS_PORT") or "6379")
local ttl = 2 * tolerance                  -- the module's default replay TTL

local ctx = C.HMAC_CTX_new()
assert(ctx ~= nil, "HMAC_CTX_new")
assert(C.HMAC_Init_ex(ctx, secret, #secret, C.EVP_sha256(), nil) == 1)

local mac = ffi.new("unsigned char[32]")
local mac_len = ffi.new("unsigned int[1]")
local hex = ffi.new("unsigned char[64]")
local digits = ffi.new("const char[17]", "0123456789abcdef")

local find, sub = string.find, string.sub
local rshift, band = bit.rshift, bit.band
local ngx_exit, ngx_time = ngx.exit, ngx.time

local function deny(status, reason)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.print('{"error":"', reason, '"}')
    ngx.log(ngx.ERR, "stripe check rejected: ", reason)
    return ngx_exit(status)
end

-- "t=1,v1=ab..,v1=cd..,v0=.." -> t, { v1 values }
local function parse(header)
    local t, sigs, pos, n = nil, {}, 1, #header
    while pos <= n do
        local comma = find(header, ",", pos, true) or n + 1
        local eq = find(header, "=", pos, true)
        if eq and eq < comma then
            local key = sub(header, pos, eq - 1)
            if key == "t" then
                if t then return nil end   -- two timestamps: malformed
                t = sub(header, eq + 1, comma - 1)
            elseif key == "v1" then
                sigs[#sigs + 1] = sub(header, eq + 1, comma - 1)
            end
        end
        pos = comma + 1
    end
    return t, sigs
end

-- HMAC of "<t>." and the body, wherever nginx keeps it
local function compute(t)
    C.HMAC_Init_ex(ctx, nil, 0, nil, nil)      -- same key, fresh state
    C.HMAC_Update(ctx, t, #t)
    C.HMAC_Update(ctx, ".", 1)
    local body = ngx.req.get_body_data()
    if body then
        C.HMAC_Update(ctx, body, #body)
    else
        local path = ngx.req.get_body_file()
        if path then
            local f = io.open(path, "rb")
            if not f then return false end
            while true do
                local chunk = f:read(65536)
                if not chunk then break end
                C.HMAC_Update(ctx, chunk, #chunk)
            end
            f:close()
        end
    end
    C.HMAC_Final(ctx, mac, mac_len)
    for i = 0, 31 do
        local b = mac[i]
        hex[2 * i] = digits[rshift(b, 4)]
        hex[2 * i + 1] = digits[band(b, 15)]
    end
    return true
end

local function check()
    local header = ngx.var.http_stripe_signature
    if not header then return deny(400, "missing_signature") end
    if #header > 4096 then return deny(400, "malformed_signature") end
    local t, sigs = parse(header)
    if not t or #sigs == 0 then return deny(400, "malformed_signature") end
    if #t == 0 or #t > 12 or find(t, "%D") then
        return deny(400, "malformed_timestamp")
    end
    local age = ngx_time() - tonumber(t)
    if age > tolerance or -age > tolerance then
        return deny(401, "stale_timestamp")
    end

    ngx.req.read_body()
    if not compute(t) then return deny(500, "body_unreadable") end

    local matched
    for i = 1, #sigs do
        local s = sigs[i]
        if #s == 64 and C.CRYPTO_memcmp(hex, s, 64) == 0 then
            matched = s
        end
    end
    if not matched then return deny(401, "invalid_signature") end
    return matched
end

local _M = {}

-- no nonce store: the timestamp window is the only replay bound
function _M.verify_only()
    check()
end

function _M.verify_shdict()
    local nonce = check()
    if not nonce then return end
    local ok, err = ngx.shared.stripe_nonces:add(nonce, true, ttl)
    if not ok then
        if err == "exists" then return deny(401, "replay") end
        return deny(503, "replay_store_unavailable")
    end
end

local redis = require "nginx.redis"          -- lua-nginx-redis (resty.redis)

function _M.verify_redis()
    local nonce = check()
    if not nonce then return end
    local red = redis:new()
    red:set_timeout(250)
    local ok, err = red:connect("127.0.0.1", redis_port)
    if not ok then
        return deny(503, "replay_store_unavailable")
    end
    local res
    res, err = red:set("stripe:" .. nonce, "1", "NX", "EX", ttl)
    if not res then
        red:close()
        return deny(503, "replay_store_unavailable")
    end
    red:set_keepalive(10000, 64)
    if res == ngx.null then return deny(401, "replay") end
end

return _M
