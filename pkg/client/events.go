package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sessiond/sessiond/pkg/wire"
	"mime"
	"net/http"
	"time"
)

const eventsPath = "/api/v1/internal/sessions/events"

// Event types passed to FollowEvents' fn.
const (
	// EventSessionRevoked: a session was revoked; drop what is cached of it.
	EventSessionRevoked = "session.revoked"
	// EventStreamReset: events since the resume point were lost to
	// retention; drop everything cached from the stream.
	EventStreamReset = "stream.reset"
)

// maxEventBytes bounds one event (all its lines) of the stream.
const maxEventBytes = 1 << 20

// ErrStreamClosed is returned by FollowEvents when the server ends the
// stream; it also matches ErrUnavailable. Resume with the returned id.
var ErrStreamClosed = errors.New("client: event stream closed")

// errIdle ends a stream that has been silent for longer than allowed.
var errIdle = errors.New("client: event stream idle")

// Event is one event of the revocation stream.
type Event struct {
	// ID is the stream id, to resume after it; "" for EventStreamReset.
	ID string
	// Type is EventSessionRevoked, EventStreamReset, or the SSE event name
	// of an event this client does not know.
	Type      string
	SessionID string
	UserID    string
	TenantID  string
	PartnerID string // "" when the session had no partner
	RevokedAt time.Time
	Reason    string // e.g. "admin_revoke", "tenant_revoke_all"
	Actor     string // the sub of who revoked it
	// Data is the event's raw data (JSON).
	Data []byte
}

// FollowEvents follows the revocation stream (GET
// /api/v1/internal/sessions/events, scope sessions:read) and calls fn for
// each event, in order. With lastEventID "" it starts at the current end of
// the stream; otherwise it resumes after that id, and the first event may be
// EventStreamReset when what followed it was lost to retention.
//
// It returns when the stream ends (ErrStreamClosed, or an *Error matching
// ErrUnavailable when the server reports a failure), when ctx ends
// (ctx.Err()), or when fn returns an error (that error). lastID is the id of
// the last event fn accepted, or lastEventID when there was none: following
// again from lastID misses nothing and repeats nothing.
func (c *Client) FollowEvents(ctx context.Context, lastEventID string, fn func(Event) error) (lastID string, err error) {
	return c.follow(ctx, lastEventID, followHooks{}, fn)
}

// followHooks let CachingVerifier watch the connection.
type followHooks struct {
	// connected is called once the server has accepted the stream: from
	// then on every revocation reaches fn.
	connected func()
	// idle, when positive, ends a stream that sends nothing (no event, no
	// keep-alive) for that long.
	idle time.Duration
}

func (c *Client) follow(parent context.Context, last string, h followHooks, fn func(Event) error) (string, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	req, err := c.newRequest(ctx, http.MethodGet, eventsPath, nil, nil, c.token)
	if err != nil {
		return last, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	var watchdog *time.Timer
	if h.idle > 0 {
		watchdog = time.AfterFunc(h.idle, func() { cancel(errIdle) })
		defer watchdog.Stop()
	}
	resp, err := c.send(req)
	if err != nil {
		return last, streamErr(ctx, parent, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		defer closeBody(resp)
		return last, responseError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return last, fmt.Errorf("client: events: answer is %q, not text/event-stream: %w", mt, ErrUnavailable)
	}
	if h.connected != nil {
		h.connected()
	}

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	sc.Split(sseLines())
	var p sseParser
	for sc.Scan() {
		if watchdog != nil {
			watchdog.Reset(h.idle)
		}
		ev, ok, err := p.line(sc.Bytes())
		if err != nil {
			return last, err
		}
		if !ok {
			continue
		}
		if ev.Type == "" { // a block with an id and no data
			last = ev.ID
			continue
		}
		if ev.Type == "error" {
			return last, streamFailure(ev.Data)
		}
		if err := fn(ev); err != nil {
			return last, err
		}
		if ev.ID != "" {
			last = ev.ID
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return last, fmt.Errorf("client: events: an event exceeds %d bytes: %w", maxEventBytes, ErrUnavailable)
		}
		return last, fmt.Errorf("client: events: read: %w: %w", ErrUnavailable, err)
	}
	if ctx.Err() != nil {
		return last, streamErr(ctx, parent, ctx.Err())
	}
	return last, fmt.Errorf("%w: %w", ErrStreamClosed, ErrUnavailable)
}

// streamErr tells the caller's own cancellation from the idle watchdog.
func streamErr(ctx, parent context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(ctx), errIdle) {
		return fmt.Errorf("%w: %w", errIdle, ErrUnavailable)
	}
	return err
}

// streamFailure is the error of an "event: error" the server sends before
// it closes the stream.
func streamFailure(data []byte) error {
	e := &Error{Status: http.StatusServiceUnavailable, Detail: "event stream failed"}
	var body struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(data, &body) == nil && body.Detail != "" {
		e.Detail = body.Detail
	}
	return e
}

// sseParser assembles Server-Sent Events from lines, as the HTML Living
// Standard's event stream interpretation does: "data" lines are joined with
// newlines, "id" and "event" apply to the event being built, comments and
// unknown fields are ignored, and an empty line dispatches.
type sseParser struct {
	id, event string
	data      []byte
	hasData   bool
	hasID     bool
}

// line feeds one line (without its terminator). It returns an event when
// the line completes one: Type "" means a block that only set an id.
func (p *sseParser) line(l []byte) (Event, bool, error) {
	if len(l) == 0 {
		return p.dispatch()
	}
	if l[0] == ':' {
		return Event{}, false, nil
	}
	field, value, found := bytes.Cut(l, []byte(":"))
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(field) {
	case "event":
		p.event = string(value)
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.hasData = true
		if len(p.data) > maxEventBytes {
			return Event{}, false, fmt.Errorf("client: events: an event exceeds %d bytes: %w", maxEventBytes, ErrUnavailable)
		}
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id, p.hasID = string(value), true
		}
	}
	return Event{}, false, nil
}

func (p *sseParser) dispatch() (Event, bool, error) {
	defer func() {
		p.id, p.event, p.data, p.hasData, p.hasID = "", "", p.data[:0], false, false
	}()
	if !p.hasData {
		if p.hasID {
			return Event{ID: p.id}, true, nil
		}
		return Event{}, false, nil
	}
	ev := Event{ID: p.id, Type: p.event, Data: append([]byte(nil), p.data...)}
	switch p.event {
	case "":
		ev.Type = "message"
	case "reset":
		return Event{Type: EventStreamReset, Data: ev.Data}, true, nil
	case "error":
		return ev, true, nil
	}
	var d wire.Event
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		if ev.Type == EventSessionRevoked {
			// A revocation the client cannot read must not pass unnoticed.
			return Event{}, false, fmt.Errorf("client: events: undecodable %s event %s: %w: %w", ev.Type, ev.ID, ErrUnavailable, err)
		}
		return ev, true, nil
	}
	ev.SessionID, ev.UserID, ev.TenantID, ev.PartnerID = d.SessionID, d.UserID, d.TenantID, d.PartnerID
	ev.RevokedAt, ev.Reason, ev.Actor = d.RevokedAt, d.Reason, d.Actor
	if ev.Type == EventSessionRevoked && ev.SessionID == "" {
		return Event{}, false, fmt.Errorf("client: events: %s event %s without session_id: %w", ev.Type, ev.ID, ErrUnavailable)
	}
	return ev, true, nil
}

// sseLines splits a stream into lines ended by CRLF, LF or CR. A CR is a
// terminator at once (no waiting for a possible LF), and a LF right after it
// is skipped.
func sseLines() bufio.SplitFunc {
	skipLF := false
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if skipLF && len(data) > 0 {
			skipLF = false
			if data[0] == '\n' {
				return 1, nil, nil
			}
		}
		if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
			if data[i] == '\n' {
				return i + 1, data[:i], nil
			}
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			skipLF = true
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			// An unterminated last line belongs to an event that never
			// completes; the stream interpretation discards it.
			return len(data), nil, nil
		}
		return 0, nil, nil
	}
}
