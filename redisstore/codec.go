package redisstore

import (
	"sort"
	"strconv"
	"strings"

	"github.com/sessiond/sessiond/pkg/session"
)

// Session hash fields. Short names keep the hash small: one session is one
// listpack when the user agent fits hash-max-listpack-value, and every byte
// counts against the allocator's size classes (64 bytes apart at this size).
// A session's partner is its tenant's (tp:{T}); hashes written before that
// was so may still hold it in fPartner. fAbsExpires is left out while it
// equals fExpires (no idle timeout). fUser and fDevice are read by the
// revocation script; the names of the other fields were shorter once and
// older hashes may still use the legacy names, which decode reads too.
const (
	fUser        = "u"
	fPartner     = "p"
	fEmail       = "m"
	fDisplayName = "n"
	fIP          = "i"
	fUserAgent   = "a" // not an application: those are "a:<id>"
	fDevice      = "dt"
	fLocation    = "l"
	fCreated     = "c"
	fLastActive  = "la"
	fExpires     = "e"
	fAbsExpires  = "ae"
	fIdle        = "it"
	appPrefix    = "a:"
)

// legacyNames maps a field to the name hashes written before it was
// shortened used for it.
var legacyNames = map[string]string{
	fEmail: "em", fDisplayName: "dn", fIP: "ip", fUserAgent: "ua", fLocation: "loc",
}

// field reads field f of hash h, under its legacy name when the hash
// predates the short one.
func field(h map[string]string, f string) string {
	if v, ok := h[f]; ok {
		return v
	}
	return h[legacyNames[f]]
}

// encodeFields returns the hash fields of a new session, except user and
// partner, which the create script writes itself. Empty optional values are
// left out so that they read back as null.
func encodeFields(s *session.Session) []any {
	out := make([]any, 0, 20)
	add := func(k, v string) {
		if v != "" {
			out = append(out, k, v)
		}
	}
	add(fEmail, s.UserEmail)
	add(fDisplayName, s.UserDisplayName)
	add(fIP, s.IPAddress)
	add(fUserAgent, s.UserAgent)
	add(fDevice, s.DeviceType)
	add(fLocation, s.Location)
	out = append(out, fCreated, strconv.FormatInt(ms(s.CreatedAt), 10),
		fExpires, strconv.FormatInt(ms(s.ExpiresAt), 10))
	if s.IdleTimeout > 0 || ms(s.AbsoluteExpiresAt) != ms(s.ExpiresAt) {
		out = append(out, fAbsExpires, strconv.FormatInt(ms(s.AbsoluteExpiresAt), 10))
	}
	if s.IdleTimeout > 0 {
		out = append(out, fIdle, strconv.FormatInt(s.IdleTimeout.Milliseconds(), 10))
	}
	return out
}

// partnerOf is a session's partner: its tenant's, else the one an older
// hash recorded itself.
func partnerOf(tenantPartner, stored string) string {
	if tenantPartner != "" {
		return tenantPartner
	}
	return stored
}

// decode turns a session hash into a Session; ok is false for an empty
// (missing) hash.
func decode(tenantID, sid string, h map[string]string) (session.Session, bool) {
	if len(h) == 0 || h[fUser] == "" {
		return session.Session{}, false
	}
	s := session.Session{
		ID:                sid,
		TenantID:          tenantID,
		UserID:            h[fUser],
		PartnerID:         h[fPartner],
		UserEmail:         field(h, fEmail),
		UserDisplayName:   field(h, fDisplayName),
		IPAddress:         field(h, fIP),
		UserAgent:         field(h, fUserAgent),
		DeviceType:        h[fDevice],
		Location:          field(h, fLocation),
		CreatedAt:         fromMS(atoi(h[fCreated])),
		LastActivityAt:    fromMS(atoi(h[fLastActive])),
		ExpiresAt:         fromMS(atoi(h[fExpires])),
		AbsoluteExpiresAt: fromMS(max(atoi(h[fAbsExpires]), atoi(h[fExpires]))),
	}
	if it := atoi(h[fIdle]); it > 0 {
		s.IdleTimeout = msDuration(it)
	}
	for k, v := range h {
		id, ok := strings.CutPrefix(k, appPrefix)
		if !ok {
			continue
		}
		at, name, _ := strings.Cut(v, "|")
		s.Apps = append(s.Apps, session.SSOApp{ID: id, Name: name, AccessedAt: fromMS(atoi(at))})
	}
	if len(s.Apps) > 1 { // sort.Slice allocates even for nothing to sort
		sort.Slice(s.Apps, func(i, j int) bool {
			if !s.Apps[i].AccessedAt.Equal(s.Apps[j].AccessedAt) {
				return s.Apps[i].AccessedAt.After(s.Apps[j].AccessedAt)
			}
			return s.Apps[i].ID < s.Apps[j].ID
		})
	}
	return s, true
}

// atoi reads a stored integer; an absent or malformed one is 0. An absent
// field (most hashes have no last activity, absolute expiry or idle
// timeout) returns early: ParseInt's error would allocate on the verify path.
func atoi(s string) int64 {
	if s == "" {
		return 0
	}
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}
