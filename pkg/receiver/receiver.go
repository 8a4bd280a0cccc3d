// Package receiver is the domain of revocation push: the relying parties'
// endpoints that sessiond calls when a session of their tenant is revoked
// (OpenID Connect Back-Channel Logout, or a CAEP session-revoked Security
// Event Token), and the deliveries that failed past their retries.
package receiver

import (
	"context"
	"errors"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

// The kinds of receiver.
const (
	// KindBackchannelLogout receives an OIDC Back-Channel Logout 1.0 logout
	// token, POSTed as application/x-www-form-urlencoded logout_token=….
	KindBackchannelLogout = "backchannel_logout"
	// KindCAEP receives a CAEP session-revoked Security Event Token
	// (RFC 8417), POSTed as application/secevent+jwt.
	KindCAEP = "caep"
)

// Bounds of what an owner may register.
const (
	MaxPerOwner    = 20
	MaxAudienceLen = 256
	MaxEvents      = 16
)

// The scopes of an Owner.
const (
	ScopeTenant   = "tenant"
	ScopePartner  = "partner"
	ScopePlatform = "platform"
)

// Owner is who registered a receiver and so whose revocations it gets: a
// tenant's, a partner's (those of every tenant of the partner) or the
// platform's (those of every tenant).
type Owner struct {
	Scope string
	// ID is the tenant's or the partner's id; "" for the platform.
	ID string
}

// TenantOwner, PartnerOwner and PlatformOwner build the three owners.
func TenantOwner(tenantID string) Owner   { return Owner{Scope: ScopeTenant, ID: tenantID} }
func PartnerOwner(partnerID string) Owner { return Owner{Scope: ScopePartner, ID: partnerID} }
func PlatformOwner() Owner                { return Owner{Scope: ScopePlatform} }

// String names the owner uniquely ("tenant/T", "partner/P", "platform").
func (o Owner) String() string {
	if o.Scope == ScopePlatform {
		return ScopePlatform
	}
	return o.Scope + "/" + o.ID
}

// OwnersOf lists the owners whose receivers get a revocation of a session
// in tenantID (of partnerID, "" for none): the tenant, its partner, the
// platform.
func OwnersOf(tenantID, partnerID string) []Owner {
	out := []Owner{TenantOwner(tenantID)}
	if partnerID != "" {
		out = append(out, PartnerOwner(partnerID))
	}
	return append(out, PlatformOwner())
}

// Receiver is one relying party's endpoint.
type Receiver struct {
	ID    string
	Owner Owner
	URL   string
	Kind  string
	// Audience is the relying party's client id: the tokens' aud.
	Audience string
	// Events, when set, limits the receiver to revocations with these
	// reasons.
	Events    []string
	CreatedAt time.Time
}

// Wants reports whether the receiver takes a revocation with this reason.
func (r Receiver) Wants(reason string) bool {
	if len(r.Events) == 0 {
		return true
	}
	for _, e := range r.Events {
		if e == reason {
			return true
		}
	}
	return false
}

// ValidKind reports whether k is a receiver kind.
func ValidKind(k string) bool { return k == KindBackchannelLogout || k == KindCAEP }

// Failure is a delivery that failed past its retries: the revocation, how
// often it was tried and the last error (without the URL or the token).
type Failure struct {
	Event     session.Event
	Attempts  int
	LastError string
	At        time.Time
}

// ErrTooMany is an add beyond MaxPerOwner.
var ErrTooMany = errors.New("too many receivers")

// Store keeps receivers and their failures.
type Store interface {
	// AddReceiver stores r (its ID and Owner set by the caller);
	// ErrTooMany beyond MaxPerOwner.
	AddReceiver(ctx context.Context, r Receiver) error
	// Receivers lists an owner's receivers, oldest first.
	Receivers(ctx context.Context, o Owner) ([]Receiver, error)
	// Receiver returns one; session.ErrNotFound when there is none.
	Receiver(ctx context.Context, o Owner, id string) (Receiver, error)
	// DeleteReceiver removes one and its failures; session.ErrNotFound
	// when there is none.
	DeleteReceiver(ctx context.Context, o Owner, id string) error
	// AddFailure records a failed delivery (the newest MaxFailures are kept).
	AddFailure(ctx context.Context, r Receiver, f Failure) error
	// Failures returns the receiver's failures, newest first.
	Failures(ctx context.Context, o Owner, id string) ([]Failure, error)
	// TakeFailures removes and returns the receiver's failures, oldest
	// first, for a redelivery.
	TakeFailures(ctx context.Context, o Owner, id string) ([]Failure, error)
}

// MaxFailures bounds the failures kept per receiver.
const MaxFailures = 1000

// Entry is one entry of the work queue: the events of one revoked batch.
type Entry struct {
	ID     string
	Events []session.Event
}

// Queue is the revocation stream as a work queue shared by every instance
// (a consumer group): each entry is handed to one consumer, and stays
// pending until acknowledged, so that another consumer can take it over
// when its consumer dies.
type Queue interface {
	// Claim returns at most n new entries for consumer, waiting up to block.
	Claim(ctx context.Context, consumer string, n int, block time.Duration) ([]Entry, error)
	// Reclaim takes over entries pending for longer than minIdle with
	// another consumer (one that died).
	Reclaim(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]Entry, error)
	// Ack marks entries as done.
	Ack(ctx context.Context, ids ...string) error
	// Extend tells the queue that consumer is still working on these
	// entries (it resets their idle time), so that no other consumer
	// reclaims them while it lives.
	Extend(ctx context.Context, consumer string, ids ...string) error
}
