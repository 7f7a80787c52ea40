-- POST a fixed body (BODY, CONTENT_TYPE and PATH_QUERY come from the environment).
wrk.method = "POST"
wrk.body = os.getenv("BODY") or ""
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
local path = os.getenv("PATH_QUERY")
if path then
  request = function() return wrk.format(nil, path) end
end
