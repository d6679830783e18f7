-- wrk script for bench/api.py: one endpoint per run, ids spread over the book.
-- wrk ... -s api.lua URL -- ENDPOINT IDS_FILE
--   ENDPOINT  check-eligibility | create-loan | view-loans | view-loan | register | reference
--             | make-payment | view-statement
--   IDS_FILE  one integer a line: customer ids, loan ids, or (register) phone numbers that no
--             customer holds; register threads take every n-th phone so none repeats.
--             make-payment and view-statement: `customer_id loan_id emi` a line (a payment
--             pays the loan's EMI, today).
-- done() prints one JSON line with the counts and latency percentiles (microseconds).

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local endpoint, ids, count, nthreads, cursor
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  endpoint = args[1]
  ids = {}
  for line in io.lines(args[2]) do
    if endpoint == "make-payment" or endpoint == "view-statement" then
      local customer, loan, emi = string.match(line, "^(%d+) (%d+) ([%d.]+)$")
      ids[#ids + 1] = { customer = customer, loan = loan, emi = emi }
    else
      ids[#ids + 1] = tonumber(line)
    end
  end
  count = #ids
  nthreads = tonumber(args[3])
  cursor = tid + 1
  math.randomseed(1000 + tid)
end

local function pick()
  return ids[math.random(count)]
end

local function application(customer_id)
  return string.format(
    '{"customer_id":%d,"loan_amount":%d,"interest_rate":%.1f,"tenure":%d}',
    customer_id, 10000 * math.random(1, 50), 6 + math.random(0, 120) / 10, 6 * math.random(1, 20))
end

function request()
  if endpoint == "check-eligibility" or endpoint == "create-loan" then
    return wrk.format("POST", "/api/" .. endpoint, headers, application(pick()))
  elseif endpoint == "view-loans" then
    return wrk.format("GET", "/api/view-loans/" .. pick())
  elseif endpoint == "view-loan" then
    return wrk.format("GET", "/api/view-loan/" .. pick())
  elseif endpoint == "make-payment" then
    local loan = pick()
    return wrk.format("POST", "/api/make-payment/" .. loan.customer .. "/" .. loan.loan, headers,
      '{"amount":' .. loan.emi .. '}')
  elseif endpoint == "view-statement" then
    local loan = pick()
    return wrk.format("GET", "/api/view-statement/" .. loan.customer .. "/" .. loan.loan)
  elseif endpoint == "reference" then
    return wrk.format("GET", "/reference/" .. pick())
  elseif endpoint == "register" then
    local phone = ids[cursor]
    cursor = cursor + nthreads
    if phone == nil then
      -- Out of fresh phones: a clearly wrong request so it shows up as an error, never a 409.
      return wrk.format("GET", "/api/phones-exhausted")
    end
    local body = string.format(
      '{"first_name":"Bench","last_name":"Customer%d","age":%d,"monthly_income":%d,'
        .. '"phone_number":%d}',
      phone % 100000, 18 + phone % 60, 1000 * math.random(10, 300), phone)
    return wrk.format("POST", "/api/register", headers, body)
  end
  error("unknown endpoint " .. tostring(endpoint))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
