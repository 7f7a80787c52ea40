-- GET with the credential from -H; an answer counts as refused unless it is a 200 whose
-- body holds EXPECT (when set). better-auth's get-session answers a session it does not
-- know with 200 and the body `null`, so the status alone would not show a failure;
-- such answers are counted under status 0.
local expect = os.getenv("EXPECT")
threads = {}
setup = function(thread) table.insert(threads, thread) end
refused = {}
response = function(status, headers, body)
  if status ~= 200 then
    refused[status] = (refused[status] or 0) + 1
  elseif expect and not string.find(body, expect, 1, true) then
    refused[0] = (refused[0] or 0) + 1
  end
end
