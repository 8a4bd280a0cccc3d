package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/pkg/wire"

	"github.com/sessiond/sessiond/pkg/client"
)

// Reconnection backoff of watch: the first wait, doubled after each failed
// attempt up to the maximum, and reset once a stream lasted healthyStream.
const (
	watchBackoff    = 250 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
	healthyStream   = time.Second
)

const eventsPath = "/api/v1/internal/sessions/events"

// newTransport is the HTTP transport of every command: the default one,
// with bounded dialling. There is no overall timeout: --timeout bounds
// each call through its context, and watch's stream never ends by itself.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// streamTracker notes when sessiond accepted an event stream, which
// FollowEvents does not tell: watch uses it to tell a stream that broke
// (resume it) from one that never opened (give up).
type streamTracker struct {
	base   http.RoundTripper
	opened atomic.Bool
}

func (t *streamTracker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && strings.HasSuffix(r.URL.Path, eventsPath) {
		t.opened.Store(true)
	}
	return resp, err
}

// errOutput wraps a failure to write an event: watch must stop, not retry.
type errOutput struct{ err error }

func (e *errOutput) Error() string { return "write output: " + e.err.Error() }
func (e *errOutput) Unwrap() error { return e.err }

func (a *app) bindWatch(fs *flag.FlagSet) func(context.Context, []string) error {
	var from string
	fs.StringVar(&from, "from", "", "")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, ""); err != nil {
			return err
		}
		return a.watch(ctx, from)
	}
}

// watch follows the stream until ctx ends. A stream that breaks after it
// opened is resumed after the last event printed, with backoff; a first
// connection that fails, or a refusal (401, 403, 404, 422), ends it.
func (a *app) watch(ctx context.Context, last string) error {
	backoff := watchBackoff
	everOpened := false
	for {
		a.stream.opened.Store(false)
		start := time.Now()
		var err error
		last, err = a.client.FollowEvents(ctx, last, func(ev client.Event) error {
			if err := a.printEvent(ev); err != nil {
				return &errOutput{err}
			}
			return nil
		})
		if ctx.Err() != nil {
			return nil // Ctrl-C: a normal end
		}
		var oe *errOutput
		if errors.As(err, &oe) {
			return err
		}
		var ce *client.Error
		if errors.As(err, &ce) && !errors.Is(err, client.ErrUnavailable) && ce.Status < 500 {
			return err
		}
		opened := a.stream.opened.Load()
		everOpened = everOpened || opened
		if !everOpened {
			return err
		}
		if opened && time.Since(start) >= healthyStream {
			backoff = watchBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		resume := "the start"
		if last != "" {
			resume = "event " + safe(last)
		}
		// The error may quote sessiond's answer, and the id is sessiond's.
		fmt.Fprintf(a.err, "sessionctl: watch: stream lost (%s); resuming after %s in %s\n",
			safe(err.Error()), resume, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// printEvent writes one event: a line of key=value fields, or the event's
// data as one JSON object with its "id" added.
func (a *app) printEvent(ev client.Event) error {
	if a.json() {
		obj := map[string]json.RawMessage{}
		if err := json.Unmarshal(ev.Data, &obj); err != nil || obj == nil {
			obj = map[string]json.RawMessage{"data": mustJSON(string(ev.Data))}
		}
		if ev.ID != "" {
			obj["id"] = mustJSON(ev.ID)
		}
		if _, ok := obj["type"]; !ok {
			obj["type"] = mustJSON(ev.Type)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.out, "%s\n", b)
		return err
	}
	var err error
	switch ev.Type {
	case client.EventSessionRevoked:
		_, err = fmt.Fprintf(a.out, "%s %s session=%s user=%s tenant=%s partner=%s reason=%s actor=%s id=%s\n",
			ev.RevokedAt.UTC().Format(wire.TimeFormat), ev.Type, cell(ev.SessionID), cell(ev.UserID), cell(ev.TenantID),
			cell(ev.PartnerID), cell(ev.Reason), cell(ev.Actor), cell(ev.ID))
	case client.EventStreamReset:
		_, err = fmt.Fprintf(a.out, "%s %s events after the resume point were lost to retention\n",
			time.Now().UTC().Format(wire.TimeFormat), cell(ev.Type))
	default:
		_, err = fmt.Fprintf(a.out, "%s %s id=%s data=%s\n",
			time.Now().UTC().Format(wire.TimeFormat), cell(ev.Type), cell(ev.ID), cell(string(ev.Data)))
	}
	return err
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
