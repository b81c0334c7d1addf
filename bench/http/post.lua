-- wrk script: POST a BODY_BYTES-byte body (default 262144) to /echo.
local size = tonumber(os.getenv("BODY_BYTES") or "262144")
wrk.method = "POST"
wrk.path = "/echo"
wrk.body = string.rep("x", size)
wrk.headers["Content-Type"] = "application/octet-stream"
