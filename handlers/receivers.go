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

// ownerOf resolves the receivers' owner of a route for access, checking
// the caller's reach; ok is false when it has answered already. v collects
// the path's validation errors.
type ownerOf func(c *gin.Context, v *ValidationError, access auth.Access) (receiver.Owner, bool)

// tenantOwner: the receivers under /api/v1/tenants/{tenant_id}/sessions
// belong to the tenant, with the tenant endpoints' reach.
func (a *api) tenantOwner(c *gin.Context, v *ValidationError, access auth.Access) (receiver.Owner, bool) {
	_, tenantID, ok := a.tenantScope(c, v, access)
	return receiver.TenantOwner(tenantID), ok
}

// adminOwner: the receivers under /api/v1/admin/sessions belong to the
// caller's partner (a partner admin) or to the platform (a super admin, or
// a platform token with the admin scopes); a tenant admin registers its
// tenant's under the tenant's path, and anyone else gets 403.
func (a *api) adminOwner(c *gin.Context, _ *ValidationError, access auth.Access) (receiver.Owner, bool) {
	p := principal(c)
	err := auth.Admin(p, access)
	if err == nil {
		switch p.Kind() {
		case auth.KindPartnerAdmin:
			return receiver.PartnerOwner(p.PartnerID), true
		case auth.KindSuperAdmin, auth.KindPlatform:
			return receiver.PlatformOwner(), true
		}
		err = auth.ErrForbidden
	}
	fail(c, err)
	return receiver.Owner{}, false
}

// receiverRoutes serves the receivers of the owner that ownerOf resolves
// (extensions): list and register, read and delete one, its failures and
// their redelivery.
func (a *api) receiverRoutes(g *gin.RouterGroup, owner ownerOf) {
	g.GET("/receivers", func(c *gin.Context) { a.listReceivers(c, owner) })
	g.POST("/receivers", func(c *gin.Context) { a.addReceiver(c, owner) })
	g.GET("/receivers/:receiver_id", func(c *gin.Context) {
		if r, ok := a.receiverOf(c, owner, auth.Read); ok {
			respond(c, http.StatusOK, toReceiver(r))
		}
	})
	g.DELETE("/receivers/:receiver_id", func(c *gin.Context) { a.deleteReceiver(c, owner) })
	g.GET("/receivers/:receiver_id/failures", func(c *gin.Context) { a.receiverFailures(c, owner) })
	g.POST("/receivers/:receiver_id/redeliver", func(c *gin.Context) { a.redeliver(c, owner) })
}

// listReceivers: GET …/receivers.
func (a *api) listReceivers(c *gin.Context, owner ownerOf) {
	var v ValidationError
	o, ok := owner(c, &v, auth.Read)
	if !ok {
		return
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	rs, err := a.Receivers.Receivers(c, o)
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

// addReceiver: POST …/receivers registers a receiver; 201 with it.
func (a *api) addReceiver(c *gin.Context, owner ownerOf) {
	var v ValidationError
	o, ok := owner(c, &v, auth.Write)
	if !ok {
		return
	}
	b, ok := readFields(c, &v, receiverFields...)
	if !ok {
		return
	}
	r := receiver.Receiver{
		ID: session.NewID(), Owner: o, CreatedAt: a.Now().UTC(),
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

// deleteReceiver: DELETE …/receivers/{receiver_id}.
func (a *api) deleteReceiver(c *gin.Context, owner ownerOf) {
	r, ok := a.receiverOf(c, owner, auth.Write)
	if !ok {
		return
	}
	if err := a.Receivers.DeleteReceiver(c, r.Owner, r.ID); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// receiverFailures: GET …/receivers/{receiver_id}/failures: the deliveries
// that failed past their retries, newest first.
func (a *api) receiverFailures(c *gin.Context, owner ownerOf) {
	r, ok := a.receiverOf(c, owner, auth.Read)
	if !ok {
		return
	}
	fs, err := a.Receivers.Failures(c, r.Owner, r.ID)
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

// redeliver: POST …/receivers/{receiver_id}/redeliver tries each failure
// once more, now; what fails again stays a failure.
func (a *api) redeliver(c *gin.Context, owner ownerOf) {
	r, ok := a.receiverOf(c, owner, auth.Write)
	if !ok {
		return
	}
	fs, err := a.Receivers.TakeFailures(c, r.Owner, r.ID)
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

// receiverOf resolves the owner for access and loads the path's receiver;
// ok is false when it has answered already.
func (a *api) receiverOf(c *gin.Context, owner ownerOf, access auth.Access) (receiver.Receiver, bool) {
	var v ValidationError
	o, ok := owner(c, &v, access)
	if !ok {
		return receiver.Receiver{}, false
	}
	id := pathID(c, &v, "receiver_id", session.ValidID)
	if err := v.err(); err != nil {
		fail(c, err)
		return receiver.Receiver{}, false
	}
	r, err := a.Receivers.Receiver(c, o, id)
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
