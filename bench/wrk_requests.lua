-- wrk script: replays pre-signed Twilio webhook requests, one per line of the file named
-- after `--` ("<signature>\t<form body>"), followed by wrk's thread count. Each thread
-- takes its own share of the lines, so no two requests carry the same MessageSid.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(args[2] or "1")
  requests, position = {}, 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/bot", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    n = n + 1
  end
end

function request()
  position = position % #requests + 1
  return requests[position]
end
