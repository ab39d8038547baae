-- wrk script for scripts/bench-orders.sh: POST /api/v1/orders, each order
-- for a random agent (ids AGENT_MIN..AGENT_MAX) with 3 different random
-- SKUs (ids SKU_MIN..SKU_MAX), 1 to 5 units each, shipped to the agent.
-- TOKEN is a staff bearer token with orders.write.

local token = os.getenv("TOKEN")
local agent_min = tonumber(os.getenv("AGENT_MIN"))
local agent_max = tonumber(os.getenv("AGENT_MAX"))
local sku_min = tonumber(os.getenv("SKU_MIN"))
local sku_max = tonumber(os.getenv("SKU_MAX"))
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local a = math.random(sku_min, sku_max)
  local b = a
  while b == a do b = math.random(sku_min, sku_max) end
  local c = a
  while c == a or c == b do c = math.random(sku_min, sku_max) end
  local body = string.format(
    '{"agent_id":%d,"fulfilment":"ship_to_me","receiver_name":"张三","receiver_phone":"13800138000",'
      .. '"receiver_address":"上海市浦东新区世纪大道100号","lines":[{"sku_id":%d,"qty":%d},'
      .. '{"sku_id":%d,"qty":%d},{"sku_id":%d,"qty":%d}]}',
    math.random(agent_min, agent_max), a, math.random(1, 5), b, math.random(1, 5), c, math.random(1, 5))
  return wrk.format(nil, "/api/v1/orders", nil, body)
end
