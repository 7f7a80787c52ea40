-- POST /register with a new email every time (JSON, or the seed's query string).
local counter = 0
local next_id = 0
setup = function(thread)
  next_id = next_id + 1
  thread:set("thread_id", string.format("%d-%d", os.time(), next_id))
end
local seed_style = os.getenv("SEED") == "1"
request = function()
  counter = counter + 1
  local email = string.format("bench-%s-%d@example.com", thread_id, counter)
  if seed_style then
    return wrk.format("POST", "/register?email=" .. email .. "&password=correct%20horse%20battery")
  end
  return wrk.format("POST", "/register", {["Content-Type"] = "application/json"},
    '{"email":"' .. email .. '","password":"correct horse battery"}')
end
