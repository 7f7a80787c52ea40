-- POST /register with a new email every time (JSON, or the seed's query string). SIGNUP_PATH
-- and NAME adapt it to better-auth (its sign-up path, and the "name" it requires).
local counter = 0
local next_id = 0
setup = function(thread)
  next_id = next_id + 1
  thread:set("thread_id", string.format("%d-%d", os.time(), next_id))
end
local seed_style = os.getenv("SEED") == "1"
local path = os.getenv("SIGNUP_PATH") or "/register"
local name = os.getenv("NAME")
local extra = name and (',"name":"' .. name .. '"') or ""
request = function()
  counter = counter + 1
  local email = string.format("bench-%s-%d@example.com", thread_id, counter)
  if seed_style then
    return wrk.format("POST", "/register?email=" .. email .. "&password=correct%20horse%20battery")
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
    '{"email":"' .. email .. '","password":"correct horse battery"' .. extra .. '}')
end
