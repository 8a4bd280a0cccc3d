package handlers

import (
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// Bounds of the free-text session fields.
const (
	maxEmailLen       = 320
	maxDisplayNameLen = 256
	maxUserAgentLen   = 1024
	maxLocationLen    = 256
	maxAppNameLen     = 256
)

// internalCreate: POST /api/v1/internal/sessions
func (a *api) internalCreate(c *gin.Context) {
	var v ValidationError
	_, b, ok := allowedBody(c, func(p auth.Principal) error { return auth.Internal(p, auth.ScopeSessionsWrite) }, &v)
	if !ok {
		return
	}
	now := a.Now().UTC()
	s := session.Session{
		ID:              b.id("id", false, session.ValidID),
		UserID:          b.id("user_id", true, session.ValidUserID),
		TenantID:        b.id("tenant_id", true, session.ValidTenantID),
		PartnerID:       b.id("partner_id", false, session.ValidTenantID),
		UserEmail:       b.str("user_email", maxEmailLen),
		UserDisplayName: b.str("user_display_name", maxDisplayNameLen),
		IPAddress:       ipField(b, "ip_address"),
		UserAgent:       b.str("user_agent", maxUserAgentLen),
		DeviceType:      b.str("device_type", 16),
		Location:        b.str("location", maxLocationLen),
		CreatedAt:       now,
	}
	if s.DeviceType != "" && !session.ValidDeviceType(s.DeviceType) {
		v.add("enum", "Input should be 'desktop', 'mobile', 'tablet', 'bot' or 'unknown'", "body", "device_type")
	}
	// The tenant's policy gives the lifetime and idle timeout a create
	// leaves out, and bounds those it gives.
	var pol session.Policy
	if s.TenantID != "" && len(v) == 0 {
		var err error
		if pol, err = a.Store.Policy(c, s.TenantID); err != nil {
			fail(c, err)
			return
		}
	}
	abs, idle := a.lifetime(b, &v, now, pol.MaxLifetime > 0)
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	s.AbsoluteExpiresAt, s.IdleTimeout, _ = pol.Bound(now, abs, idle)
	s.Start(now, a.DeviceOf)
	c.Set(keyTenant, s.TenantID)
	err := a.Store.Create(c, &s)
	a.Metrics.SessionLimit(errors.Is(err, session.ErrSessionLimit), len(s.Evicted))
	a.revoked(session.ReasonSessionLimit, s.Evicted)
	if err != nil {
		fail(c, err)
		return
	}
	res := toSessionResponse(s, "")
	for _, r := range s.Evicted {
		res.EvictedSessionIDs = append(res.EvictedSessionIDs, r.ID)
	}
	respond(c, http.StatusCreated, res)
}

// lifetime reads expires_at or ttl_seconds (exactly one, or none when the
// tenant's policy gives a lifetime), and the optional idle_timeout_seconds.
// The expiry must be in the future and within the maximum lifetime.
func (a *api) lifetime(b body, v *ValidationError, now time.Time, policyLifetime bool) (time.Time, time.Duration) {
	maxSec := int64(a.MaxLifetime / time.Second)
	var exp time.Time
	reported := len(*v)
	rawExp := b.str("expires_at", 64)
	// A wrong type or an overlong value is reported already; "" is not,
	// and must not slip through as "no expiry".
	expReported := len(*v) > reported
	ttl, hasTTL := b.integer("ttl_seconds")
	_, expGiven := b.present("expires_at")
	_, ttlGiven := b.present("ttl_seconds")
	switch {
	case expGiven && ttlGiven:
		v.add("value_error", "Value error, give expires_at or ttl_seconds, not both", "body")
	case expGiven && expReported:
		// str has said what is wrong with it.
	case expGiven:
		t, err := time.Parse(time.RFC3339Nano, rawExp)
		switch {
		case err != nil:
			v.add("datetime_from_date_parsing", "Input should be a valid datetime", "body", "expires_at")
		case !t.After(now):
			v.add("value_error", "Value error, expires_at must be in the future", "body", "expires_at")
		case t.Sub(now) > a.MaxLifetime:
			v.add("value_error", "Value error, expires_at is beyond the maximum session lifetime", "body", "expires_at")
		default:
			exp = t.UTC()
		}
	case hasTTL:
		switch {
		case ttl <= 0:
			v.add("greater_than", "Input should be greater than 0", "body", "ttl_seconds")
		case ttl > maxSec:
			v.add("less_than_equal", "Input should be less than or equal to the maximum session lifetime in seconds", "body", "ttl_seconds")
		default:
			exp = now.Add(time.Duration(ttl) * time.Second)
		}
	case !expGiven && !ttlGiven && !policyLifetime:
		v.add("missing", "Field required: expires_at or ttl_seconds", "body", "expires_at")
	}
	var idle time.Duration
	if it, ok := b.integer("idle_timeout_seconds"); ok {
		if it <= 0 || it > maxSec {
			v.add("value_error", "Value error, idle_timeout_seconds must be between 1 and the maximum session lifetime", "body", "idle_timeout_seconds")
		} else {
			idle = time.Duration(it) * time.Second
		}
	}
	return exp, idle
}

// ipField reads an optional IP address field.
func ipField(b body, name string) string {
	raw := b.str(name, 64)
	if raw == "" {
		return ""
	}
	ip, err := netip.ParseAddr(raw)
	if err != nil || !validZone(ip.Zone()) {
		b.v.add("ip_any_address", "value is not a valid IPv4 or IPv6 address", "body", name)
		return ""
	}
	return ip.String()
}

// maxZoneLen is the longest IPv6 zone kept: a Linux interface name
// (IFNAMSIZ - 1); a numeric zone index is shorter.
const maxZoneLen = 15

// validZone reports whether an IPv6 zone ("" for none) is an interface name
// or index: 1..15 of [A-Za-z0-9._-]. netip accepts any text after '%', and
// the address is stored and shown to admins, so anything else is refused.
func validZone(z string) bool {
	return z == "" || session.Charset(z, maxZoneLen, "._-")
}

// internalActivity: POST /api/v1/internal/sessions/{session_id}/activity
func (a *api) internalActivity(c *gin.Context) {
	p := principal(c)
	if err := auth.Internal(p, "sessions:write"); err != nil {
		fail(c, err)
		return
	}
	var v ValidationError
	id := pathID(c, &v, "session_id", session.ValidID)
	b, err := readBody(c, &v, false)
	if err != nil {
		fail(c, err)
		return
	}
	act := session.Activity{
		At:        a.Now().UTC(),
		AppID:     b.id("application_id", false, session.ValidID),
		AppName:   b.str("application_name", maxAppNameLen),
		IPAddress: ipField(b, "ip_address"),
	}
	if act.AppName != "" && act.AppID == "" {
		v.add("missing", "Field required when application_name is given", "body", "application_id")
	}
	if act.AppName == "" {
		act.AppName = act.AppID
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	s, err := a.Store.Get(c, id)
	if err == nil {
		c.Set(keyTenant, s.TenantID)
		err = a.Store.Touch(c, s.TenantID, id, act)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
