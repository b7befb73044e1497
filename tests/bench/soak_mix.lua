-- soak_mix.lua - wrk script for `make soak`: a mixed workload over the
-- whole stack (generate, score, me, add and remove a favorite), as the
-- users listed in the file named by SOAK_TOKENS (one session token a
-- line), and a count of every response by route and status.
local ops = {"names", "score", "me", "fav_add", "fav_del"}
local tokens = {}
local threads = {}
local n = 0
counts = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	for line in io.lines(os.getenv("SOAK_TOKENS")) do
		table.insert(tokens, line)
	end
	n = math.random(1000)
end

local countries = {"DE", "IT", "SE", "FR", "ES", "US"}

function request()
	n = n + 1
	local op = ops[n % #ops + 1]
	local tok = tokens[n % #tokens + 1]
	local fav = '{"name":"Soak' .. (n % 40) .. '","country":"DE"}'
	-- the gateway echoes a well-formed X-Request-Id: it names the route
	-- of each response
	local h = {["Content-Type"] = "application/json",
		   ["Authorization"] = "Bearer " .. tok,
		   ["X-Request-Id"] = op .. "." .. n}
	if op == "names" then
		return wrk.format("POST", "/api/v1/names", h,
			'{"countries":["' .. countries[n % #countries + 1] ..
			'"],"count":5}')
	elseif op == "score" then
		return wrk.format("POST", "/api/v1/names/score", h,
			'{"name":"Maria"}')
	elseif op == "me" then
		return wrk.format("GET", "/api/v1/me", h)
	elseif op == "fav_add" then
		return wrk.format("PUT", "/api/v1/me/favorites", h, fav)
	else
		return wrk.format("DELETE", "/api/v1/me/favorites", h, fav)
	end
end

function response(status, headers, body)
	local id = headers["X-Request-Id"] or headers["x-request-id"] or "?"
	local k = id:gsub("%..*", "") .. " " .. status
	counts[k] = (counts[k] or 0) + 1
end

function done(summary, latency, requests)
	local all = {}
	for _, t in ipairs(threads) do
		local c = t:get("counts")
		for k, v in pairs(c) do
			all[k] = (all[k] or 0) + v
		end
	end
	local f = io.open(os.getenv("SOAK_COUNTS"), "w")
	for k, v in pairs(all) do
		f:write(k .. " " .. v .. "\n")
	end
	f:close()
	local e = summary.errors
	io.write(string.format("wrk: %d requests in %.1f s, %.0f req/s; " ..
		"errors: connect %d read %d write %d timeout %d status %d\n",
		summary.requests, summary.duration / 1e6,
		summary.requests / (summary.duration / 1e6), e.connect,
		e.read, e.write, e.timeout, e.status))
	io.write(string.format("latency ms: p50 %.1f p90 %.1f p99 %.1f " ..
		"max %.1f\n", latency:percentile(50) / 1000,
		latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		latency.max / 1000))
end
