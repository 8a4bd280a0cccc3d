package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/wire"
)

// policyFields are the fields of a policy body; any other is refused.
var policyFields = []string{"max_sessions_per_user", "on_limit", "idle_timeout_seconds", "max_lifetime_seconds"}

// tenantPolicy: GET /api/v1/tenants/{tenant_id}/sessions/policy (an
// extension): the tenant's effective session policy.
func (a *api) tenantPolicy(c *gin.Context) {
	_, tenantID, ok := a.tenantOnly(c, auth.Read)
	if !ok {
		return
	}
	p, err := a.Store.Policy(c, tenantID)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toPolicy(p))
}

// tenantSetPolicy: PUT /api/v1/tenants/{tenant_id}/sessions/policy (an
// extension) replaces the tenant's policy; an absent or zero field takes
// the service default. It answers the effective policy.
func (a *api) tenantSetPolicy(c *gin.Context) {
	var v ValidationError
	_, tenantID, ok := a.tenantScope(c, &v, auth.Write)
	if !ok {
		return
	}
	b, ok := readFields(c, &v, policyFields...)
	if !ok {
		return
	}
	maxSec := int64(a.MaxLifetime / time.Second)
	p := session.Policy{
		MaxSessionsPerUser: int(b.bounded("max_sessions_per_user", session.MaxSessionsPerUserLimit)),
		OnLimit:            b.str("on_limit", 32),
		IdleTimeout:        time.Duration(b.bounded("idle_timeout_seconds", maxSec)) * time.Second,
		MaxLifetime:        time.Duration(b.bounded("max_lifetime_seconds", maxSec)) * time.Second,
	}
	if p.OnLimit != "" && p.OnLimit != session.OnLimitEvictOldest && p.OnLimit != session.OnLimitRefuse {
		v.add("enum", "Input should be 'evict_oldest' or 'refuse'", "body", "on_limit")
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	if err := a.Store.SetPolicy(c, tenantID, p); err != nil {
		fail(c, err)
		return
	}
	a.tenantPolicy(c)
}

func toPolicy(p session.Policy) wire.Policy {
	return wire.Policy{
		MaxSessionsPerUser: p.MaxSessionsPerUser, OnLimit: p.OnLimit,
		IdleTimeoutSeconds: int64(p.IdleTimeout / time.Second), MaxLifetimeSeconds: int64(p.MaxLifetime / time.Second),
	}
}

// only refuses every field of the body but names.
func (b body) only(names ...string) {
	for f := range b.fields {
		known := false
		for _, n := range names {
			known = known || f == n
		}
		if !known {
			b.v.add("extra_forbidden", "Extra inputs are not permitted", "body", f)
		}
	}
}

// bounded reads an optional integer field within 0..hi (0 when absent).
func (b body) bounded(name string, hi int64) int64 {
	x, ok := b.integer(name)
	switch {
	case !ok:
		return 0
	case x < 0:
		b.v.add("greater_than_equal", "Input should be greater than or equal to 0", "body", name)
	case x > hi:
		b.v.add("less_than_equal", "Input should be less than or equal to "+strconv.FormatInt(hi, 10), "body", name)
	default:
		return x
	}
	return 0
}
