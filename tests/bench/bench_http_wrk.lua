-- bench_http_wrk.lua - wrk script for `make bench-http`: sends the method,
-- body and headers given in the environment (BENCH_METHOD, BENCH_BODY,
-- BENCH_HEADER as "Name: value") with every request.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end
local h = os.getenv("BENCH_HEADER")
if h and h ~= "" then
	local name, value = h:match("^([^:]+):%s*(.*)$")
	wrk.headers[name] = value
end
