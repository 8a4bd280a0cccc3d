package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCreateValidation sends bad create bodies: each answers a FastAPI 422
// at the field's location and changes nothing in Redis.
func TestCreateValidation(t *testing.T) {
	valid := func(extra map[string]any, drop ...string) map[string]any {
		m := map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}
		for _, d := range drop {
			delete(m, d)
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	maxSec := int(maxLifetime / time.Second)
	cases := []struct {
		name string
		body any
		typ  string
		loc  []any
	}{
		{"missing user_id", valid(nil, "user_id"), "missing", []any{"body", "user_id"}},
		{"missing tenant_id", valid(nil, "tenant_id"), "missing", []any{"body", "tenant_id"}},
		{"null user_id", valid(map[string]any{"user_id": nil}), "missing", []any{"body", "user_id"}},
		{"user_id not a string", valid(map[string]any{"user_id": 123}), "string_type", []any{"body", "user_id"}},
		{"tenant_id with a slash", valid(map[string]any{"tenant_id": "a/b"}), "string_pattern_mismatch", []any{"body", "tenant_id"}},
		{"tenant_id not a string", valid(map[string]any{"tenant_id": []string{"T1"}}), "string_type", []any{"body", "tenant_id"}},
		{"id with a space", valid(map[string]any{"id": "bad id"}), "string_pattern_mismatch", []any{"body", "id"}},
		{"id too long", valid(map[string]any{"id": string(make128('a')) + "a"}), "string_pattern_mismatch", []any{"body", "id"}},
		{"ttl zero", valid(map[string]any{"ttl_seconds": 0}), "greater_than", []any{"body", "ttl_seconds"}},
		{"ttl negative", valid(map[string]any{"ttl_seconds": -5}), "greater_than", []any{"body", "ttl_seconds"}},
		{"ttl beyond max lifetime", valid(map[string]any{"ttl_seconds": maxSec + 1}), "less_than_equal", []any{"body", "ttl_seconds"}},
		{"ttl a string", valid(map[string]any{"ttl_seconds": "60"}), "int_type", []any{"body", "ttl_seconds"}},
		{"ttl a fraction", valid(map[string]any{"ttl_seconds": 1.5}), "int_type", []any{"body", "ttl_seconds"}},
		{"expires_at in the past", valid(map[string]any{"expires_at": "2001-01-01T00:00:00Z"}, "ttl_seconds"), "value_error", []any{"body", "expires_at"}},
		{"expires_at beyond max lifetime", valid(map[string]any{"expires_at": time.Now().Add(maxLifetime + time.Hour).Format(time.RFC3339)}, "ttl_seconds"), "value_error", []any{"body", "expires_at"}},
		{"expires_at not a datetime", valid(map[string]any{"expires_at": "tomorrow"}, "ttl_seconds"), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at empty", valid(map[string]any{"expires_at": ""}, "ttl_seconds"), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at empty and ttl null", valid(map[string]any{"expires_at": "", "ttl_seconds": nil}), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at too long", valid(map[string]any{"expires_at": strings.Repeat("9", 65)}, "ttl_seconds"), "string_too_long", []any{"body", "expires_at"}},
		{"expires_at a number", valid(map[string]any{"expires_at": 1700000000}, "ttl_seconds"), "string_type", []any{"body", "expires_at"}},
		{"both expires_at and ttl", valid(map[string]any{"expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)}), "value_error", []any{"body"}},
		{"neither expires_at nor ttl", valid(nil, "ttl_seconds"), "missing", []any{"body", "expires_at"}},
		{"ip not an address", valid(map[string]any{"ip_address": "not-an-ip"}), "ip_any_address", []any{"body", "ip_address"}},
		{"ip out of range", valid(map[string]any{"ip_address": "300.1.1.1"}), "ip_any_address", []any{"body", "ip_address"}},
		{"ip with a prefix", valid(map[string]any{"ip_address": "10.0.0.0/8"}), "ip_any_address", []any{"body", "ip_address"}},
		{"unknown device_type", valid(map[string]any{"device_type": "phone"}), "enum", []any{"body", "device_type"}},
		{"device_type not a string", valid(map[string]any{"device_type": true}), "string_type", []any{"body", "device_type"}},
		{"email too long", valid(map[string]any{"user_email": strings.Repeat("e", 321)}), "string_too_long", []any{"body", "user_email"}},
		{"idle timeout zero", valid(map[string]any{"idle_timeout_seconds": 0}), "value_error", []any{"body", "idle_timeout_seconds"}},
		{"malformed json", `{"user_id": "u1",`, "json_invalid", []any{"body", 17}},
		{"json array", `[{"user_id": "u1"}]`, "model_attributes_type", []any{"body"}},
		{"json string", `"u1"`, "model_attributes_type", []any{"body"}},
		{"empty body", "", "missing", []any{"body"}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		tok := e.token(t, serviceWrite)
		list := e.mustListIDs(t, pathAdmin)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.post(t, pathInternal, tok, tc.body)
				mustValidationAt(t, r, tc.typ, tc.loc...)
				mustUnchanged(t, e.rdb, before)
				if diff := cmp.Diff(list, e.mustListIDs(t, pathAdmin)); diff != "" {
					t.Errorf("list changed (-before +after):\n%s", diff)
				}
			})
		}

		t.Run("every problem at once", func(t *testing.T) {
			r := e.post(t, pathInternal, tok, map[string]any{"ip_address": "x", "device_type": "phone"})
			var locs [][]any
			for _, d := range mustValidation(t, r) {
				locs = append(locs, d.Loc)
			}
			want := [][]any{{"body", "user_id"}, {"body", "tenant_id"}, {"body", "ip_address"}, {"body", "device_type"}, {"body", "expires_at"}}
			if diff := cmp.Diff(want, locs); diff != "" {
				t.Errorf("locs (-want +got):\n%s", diff)
			}
		})
	})
}

// TestBodyTooLarge checks the 1 MiB bound on every endpoint that reads a
// body, with and without a Content-Length.
func TestBodyTooLarge(t *testing.T) {
	big := `{"user_id":"u1","tenant_id":"T1","ttl_seconds":60,"user_agent":"` + strings.Repeat("a", 1<<20) + `"}`
	paths := []struct {
		name, path string
		caller     string
	}{
		{"create", pathInternal, "service"},
		{"activity", pathInternal + "/t1-u2/activity", "service"},
		{"admin revoke-all", pathAdmin + "/revoke-all", "super"},
		{"tenant user revoke", pathTenant("T1") + "/users/u1/revoke", "super"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		for _, p := range paths {
			tok := e.token(t, superAdmin)
			if p.caller == "service" {
				tok = e.token(t, serviceWrite)
			}
			for _, chunked := range []bool{false, true} {
				name := p.name
				if chunked {
					name += " chunked"
				}
				t.Run(name, func(t *testing.T) {
					before := mustSnapshot(t, e.rdb)
					var body any = big
					if chunked {
						body = struct{ *strings.Reader }{strings.NewReader(big)}
					}
					r := e.do(t, req{Method: "POST", Path: p.path, Token: tok, Body: body})
					mustDetail(t, r, http.StatusRequestEntityTooLarge)
					mustUnchanged(t, e.rdb, before)
				})
			}
		}
		t.Run("exactly 1 MiB is accepted", func(t *testing.T) {
			small := `{"user_id":"u1","tenant_id":"T1","ttl_seconds":60}`
			r := e.post(t, pathInternal, e.token(t, serviceWrite), small+strings.Repeat(" ", 1<<20-len(small)))
			mustStatus(t, r, http.StatusCreated)
		})
	})
}
