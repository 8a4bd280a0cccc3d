package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// minHealthyConnection is how long a stream must have lasted for the next
// reconnect to start over from ReconnectBackoff.
const minHealthyConnection = time.Second

func (v *CachingVerifier) setConnected() {
	v.epoch.Add(1)
	v.connected.Store(true)
	v.connects.Add(1)
}

func (v *CachingVerifier) setDisconnected() {
	v.connected.Store(false)
	v.clear()
}

func (v *CachingVerifier) handle(ev Event) error {
	switch {
	case ev.Type == EventStreamReset:
		v.resets.Add(1)
		v.clear()
	case ev.SessionID != "":
		n := v.dropSession(ev.SessionID)
		if ev.Type == EventSessionRevoked {
			v.revocations.Add(1)
		}
		if v.dropped != nil {
			v.dropped(ev.SessionID, n)
		}
	}
	return nil
}

// Run follows the revocation stream until ctx ends, reconnecting with
// Last-Event-ID after a failure (with backoff), and keeps the cache in step
// with it. It returns ctx's error, or the server's answer when the stream is
// refused for good (401, 403 or 404: a wrong EventsClient token or an
// events endpoint that is not enabled); the cache then stays off and
// Verify keeps asking sessiond. Run may be called once at a time.
func (v *CachingVerifier) Run(ctx context.Context) error {
	if !v.running.CompareAndSwap(false, true) {
		return errors.New("client: CachingVerifier.Run is running already")
	}
	defer v.running.Store(false)
	last := ""
	backoff := v.o.ReconnectBackoff
	for {
		var since time.Time
		hooks := followHooks{idle: v.o.IdleTimeout, connected: func() {
			since = time.Now()
			v.setConnected()
		}}
		var err error
		last, err = v.events.follow(ctx, last, hooks, v.handle)
		v.setDisconnected()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *Error
		if errors.As(err, &herr) && (herr.Status == http.StatusUnauthorized ||
			herr.Status == http.StatusForbidden || herr.Status == http.StatusNotFound) {
			return err
		}
		if !since.IsZero() && time.Since(since) >= minHealthyConnection {
			backoff = v.o.ReconnectBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, v.o.MaxReconnectBackoff)
	}
}
