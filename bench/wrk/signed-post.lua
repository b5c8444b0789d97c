-- wrk script: POSTs a signed GitHub webhook and prints one machine-readable line at the end.
--
--   WRK_BODY=bench/github-push.json WRK_SIGNATURE=sha256=<hex> \
--     wrk -t2 -c32 -d15s -s bench/wrk/signed-post.lua http://127.0.0.1:PORT/webhooks/github
--
-- wrk's Lua has no HMAC, so the signature of the body file is computed outside (see
-- scripts/lib/bench.sh: sign_github). Environment:
--   WRK_BODY       the payload file, sent byte for byte (default bench/github-push.json)
--   WRK_SIGNATURE  the X-Hub-Signature-256 value, "sha256=<hex>" (required)
--   WRK_EVENT      X-GitHub-Event (default push)
--   WRK_FIXED_ID   1: one X-GitHub-Delivery for every request (wrk then sends a prebuilt
--                  request with no Lua per request); default: a distinct UUID-shaped id per
--                  request, so a gateway that deduplicates by delivery id still does the work.
--   WRK_CLOSE      1: send `Connection: close`, so every request opens a new connection (as
--                  from a sender or proxy that does not keep connections alive)
--
-- Non-2xx responses are counted with wrk's own summary.errors.status (statuses >= 400); no
-- response() callback is defined, because defining one makes wrk parse and hand every
-- response to Lua, which slows the client down.
--
-- Output: RESULT rps=… p50_ms=… p90_ms=… p99_ms=… max_ms=… requests=… ok=… non2xx=… errors=… duration_s=…
-- (ok = requests - non2xx; errors = connect + read + write + timeout socket errors)

local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

local body = read_file(os.getenv("WRK_BODY") or "bench/github-push.json")
local signature = os.getenv("WRK_SIGNATURE")
assert(signature and signature:match("^sha256=%x+$"), "set WRK_SIGNATURE=sha256=<hex HMAC-SHA256 of the body>")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = signature
wrk.headers["X-GitHub-Event"] = os.getenv("WRK_EVENT") or "push"
wrk.headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
if os.getenv("WRK_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

local threads_started = 0
function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_no", threads_started)
end

if os.getenv("WRK_FIXED_ID") ~= "1" then
  local counter = 0
  function request()
    counter = counter + 1
    wrk.headers["X-GitHub-Delivery"] = string.format("%08x-0000-4000-8000-%012x", thread_no or 0, counter)
    return wrk.format()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  print(string.format(
    "RESULT rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d ok=%d non2xx=%d errors=%d duration_s=%.1f",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000,
    summary.requests, summary.requests - e.status, e.status,
    e.connect + e.read + e.write + e.timeout, seconds))
end
