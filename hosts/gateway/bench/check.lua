-- wrk script: GET /proxy/check with the agent's Bearer token, cycling through a mix of
-- Clawdbot actions and resources (allows and denies, canonicalised paths and URLs).
-- The token comes from MG_TOKEN (set by load.sh); with several replicas, MG_TARGETS lists
-- their base URLs and the threads are dealt out over them in turn.

local token = os.getenv("MG_TOKEN") or ""
local mix = {
  {"write:email", "bob@yourcompany.com"},
  {"write:email", "user@external.com"},
  {"read:file", "/workspace/notes.txt"},
  {"read:file", "/workspace/../etc/passwd"},
  {"browse:web", "https://example.com/docs"},
  {"browse:web", "HTTPS://Evil.ONION/x"},
  {"read:calendar", nil},
  {"delete:email", "inbox/42"},
}
local requests = {}

local targets = {}
for u in string.gmatch(os.getenv("MG_TARGETS") or "", "%S+") do
  local host, port = string.match(u, "^http://([^:/]+):(%d+)")
  if host then targets[#targets + 1] = {host, port} end
end
local dealt = 0
setup = function(thread)
  if #targets > 0 then
    local t = targets[(dealt % #targets) + 1]
    dealt = dealt + 1
    thread.addr = wrk.lookup(t[1], t[2])[1]
  end
end

init = function(args)
  for i, m in ipairs(mix) do
    local headers = {
      ["Authorization"] = "Bearer " .. token,
      ["X-MeshGuard-Action"] = m[1],
    }
    if m[2] then headers["X-MeshGuard-Resource"] = m[2] end
    requests[i] = wrk.format("GET", "/proxy/check", headers)
  end
end

local n = 0
request = function()
  n = (n % #requests) + 1
  return requests[n]
end

-- Anything but 200/403 is a failure of the benchmark (401 means a bad token).
local unexpected = 0
response = function(status, headers, body)
  if status ~= 200 and status ~= 403 then unexpected = unexpected + 1 end
end
