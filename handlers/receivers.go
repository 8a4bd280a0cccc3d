package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/delivery"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/wire"
)

// maxReceiverURLLen bounds a receiver's URL.
const maxReceiverURLLen = 2048

// receiverFields are the fields of a receiver body; any other is refused.
var receiverFields = []string{"url", "kind", "audience", "events"}

// tenantReceivers: GET /api/v1/tenants/{tenant_id}/sessions/receivers (an
// extension).
func (a *api) tenantReceivers(c *gin.Context) {
	_, tenantID, ok := a.tenantOnly(c, auth.Read)
	if !ok {
		return
	}
	rs, err := a.Receivers.Receivers(c, tenantID)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]wire.Receiver, len(rs))
	for i, r := range rs {
		out[i] = toReceiver(r)
	}
	respond(c, http.StatusOK, out)
}

// tenantAddReceiver: POST /api/v1/tenants/{tenant_id}/sessions/receivers
// (an extension) registers a receiver; 201 with it.
func (a *api) tenantAddReceiver(c *gin.Context) {
	var v ValidationError
	_, tenantID, ok := a.tenantScope(c, &v, auth.Write)
	if !ok {
		return
	}
	b, err := readBody(c, &v, true)
	if err != nil {
		fail(c, err)
		return
	}
	b.only(receiverFields...)
	r := receiver.Receiver{
		ID: session.NewID(), TenantID: tenantID, CreatedAt: a.Now().UTC(),
		URL: b.str("url", maxReceiverURLLen), Kind: b.str("kind", 32), Audience: b.str("audience", receiver.MaxAudienceLen),
	}
	if _, given := b.present("url"); !given {
		v.add("missing", "Field required", "body", "url")
	} else if r.URL != "" {
		if msg := a.receiverURLProblem(r.URL); msg != "" {
			v.add("url_parsing", "Input should be a valid URL, "+msg, "body", "url")
		}
	}
	if _, given := b.present("kind"); !given {
		v.add("missing", "Field required", "body", "kind")
	} else if r.Kind != "" && !receiver.ValidKind(r.Kind) {
		v.add("enum", "Input should be 'backchannel_logout' or 'caep'", "body", "kind")
	}
	if _, given := b.present("audience"); !given || r.Audience == "" {
		v.add("missing", "Field required", "body", "audience")
	}
	r.Events, _ = b.ids("events", receiver.MaxEvents, validReason)
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	if err := a.Receivers.AddReceiver(c, r); err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusCreated, toReceiver(r))
}

// tenantReceiver: GET /api/v1/tenants/{tenant_id}/sessions/receivers/{receiver_id}
func (a *api) tenantReceiver(c *gin.Context) {
	if r, ok := a.receiverOf(c, auth.Read); ok {
		respond(c, http.StatusOK, toReceiver(r))
	}
}

// tenantDeleteReceiver: DELETE /api/v1/tenants/{tenant_id}/sessions/receivers/{receiver_id}
func (a *api) tenantDeleteReceiver(c *gin.Context) {
	r, ok := a.receiverOf(c, auth.Write)
	if !ok {
		return
	}
	if err := a.Receivers.DeleteReceiver(c, r.TenantID, r.ID); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// tenantReceiverFailures: GET …/receivers/{receiver_id}/failures: the
// deliveries that failed past their retries, newest first.
func (a *api) tenantReceiverFailures(c *gin.Context) {
	r, ok := a.receiverOf(c, auth.Read)
	if !ok {
		return
	}
	fs, err := a.Receivers.Failures(c, r.TenantID, r.ID)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]wire.DeliveryFailure, len(fs))
	for i, f := range fs {
		out[i] = wire.DeliveryFailure{Event: toEvent(f.Event), EventID: f.Event.ID, Attempts: f.Attempts, LastError: f.LastError, At: f.At}
	}
	respond(c, http.StatusOK, out)
}

// tenantRedeliver: POST …/receivers/{receiver_id}/redeliver tries each
// failure once more, now; what fails again stays a failure.
func (a *api) tenantRedeliver(c *gin.Context) {
	r, ok := a.receiverOf(c, auth.Write)
	if !ok {
		return
	}
	fs, err := a.Receivers.TakeFailures(c, r.TenantID, r.ID)
	if err != nil {
		fail(c, err)
		return
	}
	delivered, failed, err := a.Push.Redeliver(c, r, fs)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, wire.Redelivery{Delivered: delivered, Failed: failed})
}

// receiverOf checks the tenant's reach for access and loads the path's
// receiver; ok is false when it has answered already.
func (a *api) receiverOf(c *gin.Context, access auth.Access) (receiver.Receiver, bool) {
	var v ValidationError
	_, tenantID, ok := a.tenantScope(c, &v, access)
	if !ok {
		return receiver.Receiver{}, false
	}
	id := pathID(c, &v, "receiver_id", session.ValidID)
	if err := v.err(); err != nil {
		fail(c, err)
		return receiver.Receiver{}, false
	}
	r, err := a.Receivers.Receiver(c, tenantID, id)
	if err != nil {
		fail(c, err)
		return receiver.Receiver{}, false
	}
	return r, true
}

// receiverURLProblem says what is wrong with a receiver URL, "" when
// nothing (delivery.ValidateURL: https, or http to a loopback host in dev
// mode).
func (a *api) receiverURLProblem(raw string) string {
	if err := delivery.ValidateURL(raw, a.PushAllowLoopbackHTTP); err != nil {
		return strings.TrimPrefix(err.Error(), "delivery: ")
	}
	return ""
}

// validReason is a revocation reason in an events filter: 1..64 of
// [a-z_].
func validReason(s string) bool { return session.Charset(s, 64, "_") && strings.ToLower(s) == s }

func toReceiver(r receiver.Receiver) wire.Receiver {
	return wire.Receiver{ID: r.ID, URL: r.URL, Kind: r.Kind, Audience: r.Audience, Events: r.Events, CreatedAt: r.CreatedAt}
}
