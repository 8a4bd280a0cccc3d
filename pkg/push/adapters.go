package push

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/pkg/delivery"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/secevent"
	"github.com/sessiond/sessiond/pkg/session"
)

// Tokens encodes a revocation as the signed token a receiver's kind takes:
// an OIDC Back-Channel Logout token or a CAEP session-revoked SET. Its jti
// depends on the event and the receiver only, so a redelivery repeats it.
type Tokens struct {
	Signer secevent.Signer
	// Issuer is the tokens' iss.
	Issuer string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Encode implements Encoder.
func (t Tokens) Encode(r receiver.Receiver, e session.Event) (string, []byte, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	rv := secevent.Revocation{
		Issuer: t.Issuer, Audience: r.Audience, TenantID: e.TenantID, SessionID: e.SessionID, UserID: e.UserID,
		Reason: e.Reason, RevokedAt: e.RevokedAt, EventID: e.ID, ReceiverID: r.ID,
	}
	var m secevent.Message
	var err error
	switch r.Kind {
	case receiver.KindBackchannelLogout:
		m, err = secevent.LogoutToken(t.Signer, rv, now())
	case receiver.KindCAEP:
		m, err = secevent.SessionRevoked(t.Signer, rv, now())
	default:
		err = fmt.Errorf("push: unknown receiver kind %q", r.Kind)
	}
	return m.ContentType, m.Body, err
}

// HTTP sends through a delivery.Sender: https verified against the system
// roots, no redirects followed, bounded response bodies.
type HTTP struct{ Sender *delivery.Sender }

// Send implements Sender.
func (h HTTP) Send(ctx context.Context, url, contentType string, body []byte) error {
	_, err := h.Sender.Send(ctx, delivery.Request{URL: url, ContentType: contentType, Body: body})
	return err
}
