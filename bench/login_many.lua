-- POST /login cycling through USERS accounts PREFIX-N@example.com (default: the
-- imported bcrypt users bench-N, so each login is a user's first, before the rehash).
-- Each wrk thread walks its own range of the accounts (THREADS of them), so no account
-- has logins in flight from two threads at once: one cut off at the end of a run would
-- count as a failure and lock the account for the other thread's next attempt.
local counter = 0
local users = tonumber(os.getenv("USERS") or "1000")
local prefix = os.getenv("PREFIX") or "bench-"
local password = os.getenv("PASSWORD") or "seed user password"
local path = os.getenv("LOGIN_PATH") or "/login"
-- Globals, not locals: thread:set assigns the global of that name in the thread's own
-- Lua state, which a local of the same name in this file would hide.
offset, span, start = 0, users, 0
threads = {}
local started = 0
math.randomseed(os.time())
setup = function(thread)
  local count = tonumber(os.getenv("THREADS") or "2")
  local share = math.floor(users / count)
  thread:set("offset", started * share)
  thread:set("span", share)
  -- Each run starts at a random account of the range: logins cut off when a run ends
  -- still count as failures until that account's next success, so runs that all ended
  -- on the same accounts would pile failures onto them until the throttle refused them.
  thread:set("start", math.random(0, share - 1))
  started = started + 1
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
  local n = offset + (start + counter) % span
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
    '{"email":"' .. prefix .. n .. '@example.com","password":"' .. password .. '"}')
end
