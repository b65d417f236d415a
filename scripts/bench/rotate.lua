-- wrk script of scripts/bench-me-floor.sh: every request carries the next line of a file, so
-- that requests rotate over many users. Arguments (after `--`): the file, then how a line is
-- sent: `bearer` (our /graphql, Authorization), `user-id` (the floor, X-User-Id) or
-- `postgraphile` (PostGraphile's /graphql, as the `id` variable).
local lines = {}
local counter = 0
local mode
local ME = '{"query":"{ me { id username email firstName lastName profile { values { key json } } } }"}'
local PG_ME = 'query($id: UUID!) { userById(id: $id) { id username email claims fieldValuesByUserId { nodes { value fieldDefinitionByFieldId { key } } } } }'

function init(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  mode = args[2]
  counter = math.random(#lines)
end

function request()
  counter = counter + 1
  local line = lines[(counter % #lines) + 1]
  if mode == "bearer" then
    return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. line}, ME)
  elseif mode == "user-id" then
    return wrk.format("POST", nil, {["X-User-Id"] = line}, "")
  else
    local body = '{"query":"' .. PG_ME .. '","variables":{"id":"' .. line .. '"}}'
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
end

