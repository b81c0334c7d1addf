-- wrk script: GET /v1/customers/user:c-N for random N in [0, CUSTOMERS) with an admin key.
local key = os.getenv("KEY") or ""
local customers = tonumber(os.getenv("CUSTOMERS") or "20000")
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local headers = {}
function init(args)
  headers["Authorization"] = "Bearer " .. key
  math.randomseed(os.time() * 7 + tid)
end

function request()
  return wrk.format("GET", "/v1/customers/user:c-" .. math.random(0, customers - 1), headers)
end

local bad = 0
function response(status, hdrs, body)
  if status ~= 200 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected response " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
end
