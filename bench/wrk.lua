-- wrk script of the benchmarks: sends the requests listed in a file (one
-- "HOST PATH" per line) in turn, optionally with "Connection: close", and
-- prints one machine-readable RESULT line.
--   wrk ... -s bench/wrk.lua URL -- REQUESTS_FILE [close]
local reqs = {}
local n = 0
local i = 0

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local host, path = line:match("^(%S+)%s+(%S+)$")
    if host then
      local headers = { Host = host }
      if args[2] == "close" then
        headers["Connection"] = "close"
      end
      reqs[#reqs + 1] = wrk.format("GET", path, headers)
    end
  end
  f:close()
  n = #reqs
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.status, e.timeout))
end
