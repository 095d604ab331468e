-- wrk script for the lab's L7 tests and bench: connect to one address while the URL's host stays the TLS server
-- name (SNI) and the Host header, and print the run as one JSON line at the end.
--
-- Environment (wrk passes script arguments only to the threads, after the address is resolved):
--   WRK_CONNECT  address to connect to instead of resolving the URL's host (e.g. the VIP 198.18.10.20)
--   WRK_EXPECT   when set, every response is checked: status 200 and this text in the body; the counts
--                (ok, non-200 by class, 200s without the text, answers per lab node) go into the JSON.
--                Unset, wrk parses no bodies in Lua (the bench measures the device, not the script).
--
-- Output, last line of stdout: {"requests":..,"duration_us":..,"bytes":..,"errors":{..},"latency_us":{..},
-- "checked":{..}}. wrk's "status" error counts answers with a status above 399.

local connect_to = os.getenv("WRK_CONNECT")
local expect = os.getenv("WRK_EXPECT")
local threads = {}

if connect_to and connect_to ~= "" then
  wrk.resolve = function(host, service)
    wrk.addrs = wrk.lookup(connect_to, service)
  end
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, s4xx, s5xx, other, wrong, node1, node2, node3 = 0, 0, 0, 0, 0, 0, 0, 0
end

if expect and expect ~= "" then
  function response(status, headers, body)
    if status == 200 then
      ok = ok + 1
      if not string.find(body, expect, 1, true) then
        wrong = wrong + 1
      end
    elseif status >= 500 and status < 600 then
      s5xx = s5xx + 1
    elseif status >= 400 and status < 500 then
      s4xx = s4xx + 1
    else
      other = other + 1
    end
    if string.find(body, "node=node1 ", 1, true) then
      node1 = node1 + 1
    elseif string.find(body, "node=node2 ", 1, true) then
      node2 = node2 + 1
    elseif string.find(body, "node=node3 ", 1, true) then
      node3 = node3 + 1
    end
  end
end

local function sum(name)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get(name) or 0)
  end
  return total
end

function done(summary, latency, requests)
  local e = summary.errors
  local checked = "null"
  if expect and expect ~= "" then
    checked = string.format(
      '{"ok":%d,"status_4xx":%d,"status_5xx":%d,"status_other":%d,"wrong_body":%d,' ..
      '"node1":%d,"node2":%d,"node3":%d}',
      sum("ok"), sum("s4xx"), sum("s5xx"), sum("other"), sum("wrong"), sum("node1"), sum("node2"), sum("node3"))
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"checked":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    checked))
end
