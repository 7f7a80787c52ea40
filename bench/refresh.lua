-- POST /refresh: each request presents a token no other request holds. Tokens come
-- from TOKENS_FILE (one per line, one per session); each response's new token goes
-- back to the queue.
local queue = {}
local head, tail = 1, 0
setup = function(thread)
  thread:set("index", #threads_seen + 1)
  table.insert(threads_seen, thread)
end
threads_seen = {}
init = function(args)
  local file = io.open(os.getenv("TOKENS_FILE"), "r")
  local n, threads = 0, tonumber(os.getenv("THREADS") or "2")
  for line in file:lines() do
    n = n + 1
    if n % threads == (index - 1) then
      tail = tail + 1
      queue[tail] = line
    end
  end
  file:close()
end
request = function()
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", "/refresh", {["Content-Type"] = "application/json"},
    '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end
