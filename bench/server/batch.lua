-- wrk script: POST /v1/batch with EVENTS (default 100) fresh track events per request.
-- Env: KEY (an ingest or admin key), EVENTS, USERS (distinct user ids, default 100000), RUN (a
-- nonce so that repeated runs do not collide on messageId).
local key = os.getenv("KEY") or ""
local events = tonumber(os.getenv("EVENTS") or "100")
local users = tonumber(os.getenv("USERS") or "100000")
local run = os.getenv("RUN") or tostring(os.time())
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local counter = 0
local headers = {}

function init(args)
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. key
  math.randomseed(os.time() + tid)
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, events do
    parts[i] = string.format(
      '{"type":"track","userId":"b-%d","event":"Product Viewed","properties":{"sku":"S%d","price":%d.5},' ..
      '"messageId":"%s-%d-%d-%d","timestamp":"2026-11-%02dT10:%02d:00Z"}',
      math.random(users), math.random(500), math.random(200), run, tid, counter, i,
      math.random(1, 22), math.random(0, 59))
  end
  return wrk.format("POST", "/v1/batch", headers, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end

local bad = 0
function response(status, hdrs, body)
  if status ~= 200 or string.find(body, "rejected", 1, true) then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected response " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
end
