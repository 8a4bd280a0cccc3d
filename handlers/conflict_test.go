package handlers_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInternalCreateConflict checks that a create whose id is taken answers
// 409 and changes nothing in Redis, and that one naming a tenant of another
// partner answers 409 and leaves every session, index, pointer and counter
// as it was (the membership sets are left out here: see
// TestPartnerMismatchChangesNothing).
func TestInternalCreateConflict(t *testing.T) {
	cases := []struct {
		name     string
		body     sess
		withSets bool
	}{
		{"same id, same tenant", sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}, true},
		{"same id, same tenant, longer", sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 7200}, true},
		{"same id, other user and tenant", sess{"id": "dup", "user_id": "u2", "tenant_id": "T2", "partner_id": "P2", "ttl_seconds": 60}, true},
		{"same id as a session of another tenant", sess{"id": "other", "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}, true},
		{"tenant of another partner", partnerMismatch, false},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1"})
		e.mustCreate(t, sess{"id": "other", "user_id": "u3", "tenant_id": "T2", "partner_id": "P2"})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				skip := []string{"ut:", "pt:", "tn:"}
				if tc.withSets {
					skip = nil
				}
				before := mustSnapshot(t, e.rdb).without(skip...)
				r := e.post(t, pathInternal, e.token(t, serviceWrite), map[string]any(tc.body))
				mustDetail(t, r, http.StatusConflict)
				if diff := cmp.Diff(before, mustSnapshot(t, e.rdb).without(skip...)); diff != "" {
					t.Errorf("Redis changed (-before +after):\n%s", diff)
				}
			})
		}
	})
}

var partnerMismatch = sess{"id": "new", "user_id": "u9", "tenant_id": "T1", "partner_id": "P2", "ttl_seconds": 60}

// TestPartnerMismatchChangesNothing fails while
// redisstore.Store.Create writes the user-tenants set ut:{u:U}, the
// partner-tenants set pt:{p:P} and the tenants zset tn:{#g} before create.lua
// finds that the tenant belongs to another partner: the refused create
// (409) still records tenant T1 under partner P2 and user u9, and raises
// T1's score in tn:{#g}. Bad input changes nothing in Redis.
func TestPartnerMismatchChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "dup", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1"})
		e.mustCreate(t, sess{"id": "other", "user_id": "u3", "tenant_id": "T2", "partner_id": "P2"})
		before := mustSnapshot(t, e.rdb)
		r := e.post(t, pathInternal, e.token(t, serviceWrite), map[string]any(partnerMismatch))
		mustDetail(t, r, http.StatusConflict)
		mustUnchanged(t, e.rdb, before)
	})
}
