-- POST /login cycling through USERS imported accounts bench-N@example.com, so each
-- login is a user's first (their imported bcrypt hash, before the rehash).
local counter = 0
local users = tonumber(os.getenv("USERS") or "1000")
local offset = 0
setup = function(thread)
  thread:set("offset", math.random(0, users - 1))
end
request = function()
  counter = counter + 1
  local n = (offset + counter) % users
  return wrk.format("POST", "/login", {["Content-Type"] = "application/json"},
    '{"email":"bench-' .. n .. '@example.com","password":"seed user password"}')
end
