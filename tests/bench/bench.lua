-- wrk script of tests/bench/run_bench.py: spreads requests over share tokens and client addresses.
--
-- The daemon trusts 127.0.0.1 as a proxy, so X-Forwarded-For names the client
-- its rate limiters key on. Each wrk thread prepares its own requests, each
-- with a distinct address, and cycles through them, so every simulated client
-- stays under its buckets while the limiter still does its work per request.
--
-- Arguments (after "--"):
--   list THREADS MODE SALT FIRST COUNT POOL ADDR_BASE [URL_FILE | MAX_VIEWS_COUNT]
--     MODE track:      /v1/music/shared/shr_<kind, 1 hex><index, 7 hex><SALT, 24 hex>, kind 0
--     MODE collection: the same with kind 1 (collection shares)
--     MODE page:       the share page /s/shr_... of the track tokens (kind 0)
--     MODE mixed:      as track, every 4th request a max_views link (kind 2, indexes below MAX_VIEWS_COUNT)
--     MODE soak:       as track, with 1 request in 20 a collection (kind 1, indexes below
--                      MAX_VIEWS_COUNT, here the collection share count) and 1 in 20 a share page
--     MODE unknown:    tokens of kind f (never seeded): the 404 path
--     MODE urls:       the paths listed in URL_FILE (signed media URLs), in turn
--     THREADS: wrk's -t (setup() runs per thread just before its init(), so
--     a thread cannot count the others itself).
--     FIRST/COUNT: the token indexes used (spread by a stride over the range);
--     POOL: distinct client addresses over all threads; ADDR_BASE: first address index.
--   flood THREADS SALT COUNT TOTAL ADDR_BASE
--     Every request from a new address (10.0.0.0/8 from ADDR_BASE), tokens of
--     kind 0 (indexes below COUNT) and kind f alternating; each thread stops
--     after its share of TOTAL (run_bench.py stops wrk once TOTAL are answered).
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles.

local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

local function address(index)
  local a = 10 + math.floor(index / 16777216)
  local b = math.floor(index / 65536) % 256
  local c = math.floor(index / 256) % 256
  local d = index % 256
  return a .. "." .. b .. "." .. c .. "." .. d
end

local function token_path(kind, index, salt, prefix)
  return string.format("%sshr_%x%07x%s", prefix or "/v1/music/shared/", kind, index, salt)
end

local function get(path, client)
  return wrk.format("GET", path, {["X-Forwarded-For"] = client, ["User-Agent"] = "Mozilla/5.0 (bench)"})
end

local prepared = {}
local prepared_count = 0
local next_request = 0
local flood = nil
local shards = 1

function init(args)
  shards = tonumber(args[2])
  if args[1] == "flood" then
    flood = {
      salt = args[3],
      count = tonumber(args[4]),
      -- One more than a fair share: wrk's first thread spends one request()
      -- call on checking the script before it starts.
      per_thread = math.ceil(tonumber(args[5]) / shards) + 1,
      base = tonumber(args[6]),
      sent = 0,
    }
    return
  end
  local mode, salt = args[3], args[4]
  local first, count = tonumber(args[5]), tonumber(args[6])
  local pool, base = tonumber(args[7]), tonumber(args[8])
  local urls = {}
  if mode == "urls" then
    for line in io.lines(args[9]) do
      if #line > 0 then table.insert(urls, line) end
    end
  end
  local per_thread = math.max(1, math.floor(pool / shards))
  -- A stride coprime with most ranges spreads consecutive requests over the whole index.
  local stride = 7919
  for k = 0, per_thread - 1 do
    local slot = id + shards * k
    local client = address(base + slot)
    local path
    if mode == "track" or mode == "collection" then
      path = token_path(mode == "track" and 0 or 1, first + (slot * stride) % count, salt)
    elseif mode == "page" then
      path = token_path(0, first + (slot * stride) % count, salt, "/s/")
    elseif mode == "mixed" then
      if slot % 4 == 3 then
        path = token_path(2, (slot * stride) % tonumber(args[9]), salt)
      else
        path = token_path(0, first + (slot * stride) % count, salt)
      end
    elseif mode == "soak" then
      if slot % 20 == 18 then
        path = token_path(1, (slot * stride) % tonumber(args[9]), salt)
      elseif slot % 20 == 19 then
        path = token_path(0, first + (slot * stride) % count, salt, "/s/")
      else
        path = token_path(0, first + (slot * stride) % count, salt)
      end
    elseif mode == "unknown" then
      path = token_path(15, (slot * stride) % 16777216, salt)
    else
      path = urls[(slot % #urls) + 1]
    end
    prepared_count = prepared_count + 1
    prepared[prepared_count] = get(path, client)
  end
end

function request()
  if flood then
    local slot = id + shards * flood.sent
    flood.sent = flood.sent + 1
    if flood.sent >= flood.per_thread then wrk.thread:stop() end
    local path
    if slot % 2 == 0 then
      path = token_path(0, (slot * 7919) % flood.count, flood.salt)
    else
      path = token_path(15, slot % 16777216, flood.salt)
    end
    return get(path, address(flood.base + slot))
  end
  next_request = next_request % prepared_count + 1
  return prepared[next_request]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
