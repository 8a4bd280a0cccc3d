package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// wrkDone ends every wrk script: one machine-readable line per run.
const wrkDone = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout, summary.requests))
end
`

// createLua POSTs a new session per request to /api/v1/internal/sessions:
// unique ids (run, thread, counter), five sessions per user, a realistic
// body with the 110-byte user agent. Arguments after "--": the service token,
// the run number and the tenant.
const createLua = `
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0
local prefix, tenant
function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = string.format("01936f%02d%02d", tonumber(args[2]), tid)
  tenant = args[3]
end

local ua = "` + userAgent + `"
function request()
  counter = counter + 1
  local id = string.format("%s-bench-%020d", prefix, counter)
  local uid = string.format("%s-user-%d", prefix, math.floor(counter / 5))
  local body = string.format('{"id":"%s","user_id":"%s","tenant_id":"%s","partner_id":"partner-1","ttl_seconds":86400,"ip_address":"203.0.113.42","user_agent":"%s","user_email":"%s@example.com","user_display_name":"Ada Lovelace","location":"Berlin, DE"}', id, uid, tenant, ua, uid)
  return wrk.format(nil, nil, nil, body)
end
`

type wrkResult struct {
	rps      float64
	p50, p99 float64 // ms
	errors   int64
	requests int64
}

// runWrk runs wrk -t2 -c<conns> for the duration and parses the RESULT line.
// The full output goes to log.
func runWrk(ctx context.Context, log io.Writer, script string, conns int, dur string, url string, headers []string, scriptArgs ...string) (wrkResult, error) {
	args := []string{"-t2", fmt.Sprintf("-c%d", conns), "-d" + dur, "--timeout", "10s", "-s", script}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	args = append(args, url)
	if len(scriptArgs) > 0 {
		args = append(append(args, "--"), scriptArgs...)
	}
	var out bytes.Buffer
	fmt.Fprintf(log, "$ wrk %s\n", redactArgs(args))
	err := runCmd(ctx, io.MultiWriter(&out, log), "", nil, "wrk", args...)
	if err != nil {
		return wrkResult{}, err
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "RESULT" {
			continue
		}
		var r wrkResult
		r.rps, _ = strconv.ParseFloat(f[1], 64)
		r.p50, _ = strconv.ParseFloat(f[2], 64)
		r.p99, _ = strconv.ParseFloat(f[3], 64)
		r.errors, _ = strconv.ParseInt(f[4], 10, 64)
		r.requests, _ = strconv.ParseInt(f[5], 10, 64)
		return r, nil
	}
	return wrkResult{}, fmt.Errorf("wrk %s: no RESULT line in its output", url)
}

// redactArgs keeps tokens out of the raw logs.
func redactArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "Authorization:") {
			a = "Authorization: Bearer <token>"
		} else if strings.HasPrefix(a, "eyJ") {
			a = "<token>"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
