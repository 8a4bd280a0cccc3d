package redisstore

import (
	"strings"
	"time"

	"github.com/sessiond/sessiond/pkg/receiver"
)

// Key schema. Everything a tenant owns carries the hash tag {T}, so it lives in
// one Cluster slot and the tenant-scoped scripts are atomic there. Views that
// cross tenants use their own tags and are secondary: they are written after
// the tenant step and reconciled from the tenant's outbox by the sweep.
//
// No id can produce another kind's key or hash tag: tenant and partner ids
// are [A-Za-z0-9._-], session ids [A-Za-z0-9_-], user ids add @:|+ but always
// follow "u:" in a tag, partner ids follow "p:", and the service's own keys
// (the global view, the tenant list, its sweep lock, the events stream) are
// tagged with '#', which no id contains. Before that they were tagged {g}
// and {revocations}, the tags of a tenant "g" or "revocations": Upgrade
// (upgrade.go) moves what an older version left there.
//
//	s:{T}:<sid>          hash   the session; expires at expires_at
//	ix:{T}:all           zset   sid -> expires_at ms
//	ix:{T}:u:<uid>       zset   sid -> expires_at ms
//	ix:{T}:d:<device>    zset   sid -> expires_at ms
//	ix:{T}:users         zset   uid -> latest expires_at ms of the user
//	ob:{T}               zset   sid -> ms of the last create/revoke/expiry change (outbox for the views)
//	tp:{T}               string the tenant's partner, which is every session's partner
//	ad:{T}               string partner whose view still lacks the tenant's earlier sessions (adoption marker)
//	st:{T}:c:<hour>      string sessions created in that UTC hour (expires after 25h)
//	st:{T}:r:<hour>      string sessions revoked in that UTC hour (expires after 25h)
//	sid:{<sid>}          string tenant of the session, for calls that know only the id
//	ut:{u:<uid>}         set    tenants the user has sessions in
//	pt:{p:<P>}           set    tenants of the partner
//	ix:{p:<P>:<i>.<j>}   zset   "sid!T" -> expires_at ms (shard i of the partner view; views.go)
//	ix:{#g:<i>.<j>}      zset   "sid!T" -> expires_at ms (shard i of the global view)
//	ix:{p:<P>}, ix:{#g}  zset   the same, in one key: the layout of SESSIOND_VIEW_SHARDS=1
//	vn:{#g}              string the number of shards the views are split into
//	tn:{#g:<i>.<j>}      zset   T -> latest expires_at ms (shard i of the tenants the sweep visits)
//	tn:{#g}              zset   the same, in one key: the layout of SESSIOND_VIEW_SHARDS=1
//	lk:{T}:sweep         string sweep lock of the tenant (expires after the lock period)
//	lk:{#g}:sweep        string sweep lock of the global view
//	lk:{#g}:upgrade      string lock of Upgrade
//	ev:{#revocations}    stream revocation events, one entry per revoked batch (events.go)
//	ev:{#revocations}:n  string the number of events (sessions) the stream holds
//	rv:{T}               hash   revocation records of the tenant (revoke_records.go)
//	eh:{T}               hash   ended sid -> compact record of the revoked session (history.go)
//	hd:{T}               zset   ended sid -> ms when history drops it
//	hx:{T}:all           zset   ended sid -> its expires_at ms (listing order)
//	hx:{T}:u:<uid>       zset   ended sid -> its expires_at ms (pruned against hd when read)
//	hd:{T}:u:<uid>       zset   ended sid -> ms when history drops it (hx user's, by drop time)
//	ux:{T}:all           zset   active and ended sid -> expires_at ms: ix all ∪ hx all (history on only)
//	ux:{T}:u:<uid>       zset   active and ended sid -> expires_at ms: ix user ∪ hx user (history on only)
//	au:{T}               hash   audit entry id -> header; "<id>:n" -> count; "<id>:s" -> first session ids
//	ai:{T}               zset   audit entry id -> ms of the operation
//	po:{T}               hash   the tenant's session policy (policy.go); no expiry
//	rc:{T}               hash   receiver id -> the tenant's push receiver (receivers.go); no expiry
//	dl:{T}:<id>          list   the receiver's failed deliveries, newest first
//	rc:{p:P}, dl:{p:P}:<id>     the same for the partner's receivers
//	rc:{#g}, dl:{#g}:<id>       the same for the platform's receivers
type keys struct{ tag string }

func tenantKeys(tenantID string) keys { return keys{tag: "{" + tenantID + "}"} }

func (k keys) session(sid string) string { return "s:" + k.tag + ":" + sid }
func (k keys) all() string               { return "ix:" + k.tag + ":all" }
func (k keys) user(uid string) string    { return "ix:" + k.tag + ":u:" + uid }
func (k keys) device(dev string) string  { return "ix:" + k.tag + ":d:" + dev }
func (k keys) users() string             { return "ix:" + k.tag + ":users" }
func (k keys) outbox() string            { return "ob:" + k.tag }
func (k keys) partner() string           { return "tp:" + k.tag }
func (k keys) adoption() string          { return "ad:" + k.tag }
func (k keys) sweepLock() string         { return "lk:" + k.tag + ":sweep" }
func (k keys) records() string           { return "rv:" + k.tag }
func (k keys) ended() string             { return "eh:" + k.tag }
func (k keys) endedDrop() string         { return "hd:" + k.tag }
func (k keys) endedAll() string          { return "hx:" + k.tag + ":all" }
func (k keys) endedUser(uid string) string {
	return "hx:" + k.tag + ":u:" + uid
}
func (k keys) endedUserDrop(uid string) string {
	return "hd:" + k.tag + ":u:" + uid
}
func (k keys) unionAll() string { return "ux:" + k.tag + ":all" }
func (k keys) unionUser(uid string) string {
	return "ux:" + k.tag + ":u:" + uid
}
func (k keys) audit() string     { return "au:" + k.tag }
func (k keys) policy() string    { return "po:" + k.tag }
func (k keys) receivers() string { return "rc:" + k.tag }
func (k keys) failures(receiverID string) string {
	return "dl:" + k.tag + ":" + receiverID
}
func (k keys) auditOrder() string { return "ai:" + k.tag }
func (k keys) created(t time.Time) string {
	return "st:" + k.tag + ":c:" + t.UTC().Format("2006010215")
}
func (k keys) revoked(t time.Time) string {
	return "st:" + k.tag + ":r:" + t.UTC().Format("2006010215")
}

// ownerKeys are the keys of a receiver owner: the tenant's, or the
// partner's {p:P} or the platform's {#g} tags, which no tenant tag equals.
func ownerKeys(o receiver.Owner) keys {
	switch o.Scope {
	case receiver.ScopePartner:
		return keys{tag: "{p:" + o.ID + "}"}
	case receiver.ScopePlatform:
		return keys{tag: "{#g}"}
	}
	return tenantKeys(o.ID)
}

func pointerKey(sid string) string        { return "sid:{" + sid + "}" }
func userTenantsKey(uid string) string    { return "ut:{u:" + uid + "}" }
func partnerTenantsKey(pid string) string { return "pt:{p:" + pid + "}" }
func partnerViewKey(pid string) string    { return "ix:{p:" + pid + "}" }

// viewMember is "<sid>!<T>": '!' sorts below every id character, so members
// with equal scores order by session id exactly as in a tenant index.
func viewMember(tenantID, sid string) string { return sid + "!" + tenantID }

const (
	globalViewKey      = "ix:{#g}"
	viewLayoutKey      = "vn:{#g}"
	globalSweepLockKey = "lk:{#g}:sweep"
	upgradeLockKey     = "lk:{#g}:upgrade"
	tenantsKey         = "tn:{#g}"
	eventsKey          = "ev:{#revocations}"
	eventsCountKey     = "ev:{#revocations}:n"
	// counterTTL keeps an hourly counter long enough to cover the last 24 hours.
	counterTTL = 25 * time.Hour
)

// splitMember splits a view member "sid!T"; ok is false for a malformed one.
func splitMember(m string) (tenantID, sid string, ok bool) {
	sid, tenantID, ok = strings.Cut(m, "!")
	return tenantID, sid, ok && tenantID != "" && sid != ""
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
