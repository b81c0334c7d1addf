-- wrk script: POST /v1/tickets, one new ticket per request (the desk routes it among every agent,
-- stores the decision and the history, and the SLA timer takes it up).
-- Env: KEY (an admin key), CUSTOMERS (the bench's customers user:c-0 … c-(N-1), default 20000).
local key = os.getenv("KEY") or ""
local customers = tonumber(os.getenv("CUSTOMERS") or "20000")
local products = {"credit_card", "loan", "refund", "delivery", "invoice", "account", "insurance", "wealth"}
local channels = {"chat", "email", "app", "phone"}
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
  local body = string.format(
    '{"customer":"user:c-%d","subject":"bench ticket %d-%d","channel":"%s","skill":"%s","language":"%s"}',
    math.random(0, customers - 1), tid, counter, channels[math.random(#channels)],
    products[math.random(#products)], math.random(5) == 1 and "en" or "zh")
  return wrk.format("POST", "/v1/tickets", headers, body)
end

local bad = 0
function response(status, hdrs, body)
  if status ~= 201 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected response " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
end
