package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// oddValues are JSON values of every kind and edge, each put in place of one
// field of an otherwise valid body.
var oddValues = []string{
	`null`, `""`, `" "`, `0`, `-1`, `1.5`, `1e400`, `-9223372036854775809`, `true`, `[]`, `{}`,
	`["x"]`, `"\u0000"`, `"` + strings.Repeat("x", 2000) + `"`, `"2026-01-02T03:04:05Z"`, `"}{"`,
}

// TestNoServerErrorOnOddInput puts each odd value into each field of each
// body, and odd values into paths and queries: every answer is 2xx or 4xx,
// never 5xx.
func TestNoServerErrorOnOddInput(t *testing.T) {
	bodies := []struct {
		name, method, path, caller string
		base                       map[string]string
	}{
		{"create", "POST", pathInternal, "service", map[string]string{
			"id": `"odd-1"`, "user_id": `"u1"`, "tenant_id": `"T1"`, "partner_id": `"P1"`, "user_email": `"a@b.c"`,
			"user_display_name": `"A"`, "ip_address": `"10.0.0.1"`, "user_agent": `"curl/8"`, "device_type": `"bot"`,
			"location": `"X"`, "ttl_seconds": `60`, "expires_at": `null`, "idle_timeout_seconds": `30`,
		}},
		{"activity", "POST", pathInternal + "/t1-u2/activity", "service", map[string]string{
			"application_id": `"app"`, "application_name": `"App"`, "ip_address": `"10.0.0.1"`,
		}},
		{"admin revoke-all", "POST", pathAdmin + "/revoke-all", "super", map[string]string{
			"user_id": `"u9"`, "tenant_id": `"T9"`, "partner_id": `"P9"`,
		}},
		{"tenant user revoke", "POST", pathTenant("T1") + "/users/u9/revoke", "super", map[string]string{
			"session_ids": `["nope"]`, "revoke_all": `false`, "except_current": `true`,
		}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		toks := map[string]string{"super": e.token(t, superAdmin), "service": e.token(t, serviceWrite), "user": e.token(t, userU1)}
		check := func(t *testing.T, method, path, tok string, body any) {
			t.Helper()
			r := e.do(t, req{Method: method, Path: path, Token: tok, Body: body})
			if r.Code >= 500 {
				t.Errorf("%s %s %v: got %d, want no 5xx; body: %s", method, path, body, r.Code, r.Body)
			}
		}
		for _, bd := range bodies {
			t.Run(bd.name, func(t *testing.T) {
				for field := range bd.base {
					for _, odd := range oddValues {
						fields := map[string]json.RawMessage{}
						for k, v := range bd.base {
							fields[k] = json.RawMessage(v)
						}
						fields[field] = json.RawMessage(odd)
						raw := []byte("{")
						first := true
						for k, v := range fields {
							if !first {
								raw = append(raw, ',')
							}
							first = false
							kb, _ := json.Marshal(k)
							raw = append(append(append(raw, kb...), ':'), v...)
						}
						raw = append(raw, '}')
						check(t, bd.method, bd.path, toks[bd.caller], raw)
					}
				}
				for _, odd := range oddValues {
					check(t, bd.method, bd.path, toks[bd.caller], odd)
				}
			})
		}
		t.Run("paths and queries", func(t *testing.T) {
			odd := []string{"%00", "%FF", "%C3%A9", "..", ".", "-", "_", "a%2Fb", strings.Repeat("t", 300), "%7B%7D", "a%7Db"}
			for _, o := range odd {
				for _, p := range []struct{ method, path, caller string }{
					{"GET", pathAdmin + "/" + o, "super"},
					{"DELETE", pathAdmin + "/" + o, "super"},
					{"GET", pathTenant(o), "super"},
					{"GET", pathTenant(o) + "/stats", "super"},
					{"GET", pathTenant("T1") + "/users/" + o, "super"},
					{"GET", pathTenant(o) + "/" + o, "super"},
					{"DELETE", pathTenant(o) + "/x", "super"},
					{"POST", pathTenant(o) + "/revoke-all", "super"},
					{"DELETE", pathMe + "/" + o, "user"},
					{"POST", pathInternal + "/" + o + "/activity", "service"},
					{"GET", pathAdmin + "?user_id=" + o + "&tenant_id=" + o + "&partner_id=" + o, "super"},
					{"GET", pathTenant("T1") + "?user_id=" + o + "&page=" + o + "&per_page=" + o + "&active_only=" + o, "super"},
				} {
					check(t, p.method, p.path, toks[p.caller], nil)
				}
			}
		})
		t.Run("odd tokens claims", func(t *testing.T) {
			// Valid signatures on claims that are odd as key material.
			for _, sub := range []string{"a}b", "{x}", "u 1", strings.Repeat("u", 600), "*"} {
				o := userU1
				o.Subject, o.TenantID = sub, sub
				ut := e.token(t, o)
				check(t, "GET", pathMe, ut, nil)
				check(t, "POST", pathMe+"/revoke-all", ut, nil)
				check(t, "DELETE", pathMe+"/t1-u1-a", ut, nil)
				ta := tenantAdmin
				ta.TenantID = sub
				check(t, "GET", pathAdmin, e.token(t, ta), nil)
				check(t, "POST", pathAdmin+"/revoke-all", e.token(t, ta), map[string]any{"user_id": "u1"})
			}
		})
		if got := e.mustListIDs(t, pathTenant("T3")); len(got) != 1 || got[0] != "t3-u4" {
			t.Errorf("T3 sessions after odd input: got %v, want [t3-u4]", got)
		}
	})
}
