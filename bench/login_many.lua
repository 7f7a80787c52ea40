-- POST /login cycling through USERS accounts PREFIX-N@example.com (default: the
-- imported bcrypt users bench-N, so each login is a user's first, before the rehash).
local counter = 0
local users = tonumber(os.getenv("USERS") or "1000")
local prefix = os.getenv("PREFIX") or "bench-"
local password = os.getenv("PASSWORD") or "seed user password"
local offset = 0
threads = {}
setup = function(thread)
  thread:set("offset", math.random(0, users - 1))
  table.insert(threads, thread)
end
-- Answers other than 200, by status, so that the error column can say what they were
-- (done.lua collects them from every thread).
refused = {}
response = function(status)
  if status ~= 200 then
    refused[status] = (refused[status] or 0) + 1
  end
end
request = function()
  counter = counter + 1
  local n = (offset + counter) % users
  return wrk.format("POST", "/login", {["Content-Type"] = "application/json"},
    '{"email":"' .. prefix .. n .. '@example.com","password":"' .. password .. '"}')
end
