-- POST /login cycling through USERS accounts PREFIX-N@example.com (default: the
-- imported bcrypt users bench-N, so each login is a user's first, before the rehash).
local counter = 0
local users = tonumber(os.getenv("USERS") or "1000")
local prefix = os.getenv("PREFIX") or "bench-"
local password = os.getenv("PASSWORD") or "seed user password"
local offset = 0
setup = function(thread)
  thread:set("offset", math.random(0, users - 1))
end
request = function()
  counter = counter + 1
  local n = (offset + counter) % users
  return wrk.format("POST", "/login", {["Content-Type"] = "application/json"},
    '{"email":"' .. prefix .. n .. '@example.com","password":"' .. password .. '"}')
end
