package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

var _ session.EventLog = (*Store)(nil)

// The revocation stream (eventsKey) is trimmed to about
// Options.EventRetention entries (XTRIM MAXLEN ~ with each batch). Events are
// delivered at least once: a batch whose reply was lost, or whose request
// died, is relayed by the sweep from its revocation record (revoke_records.go),
// and a request that stalls past the sweep's grace period can see its
// batch's events appended twice.

// eventsCall is one append_events.lua call in a pipeline.
type eventsCall struct {
	call appendEventsCall
	cmd  *redis.Cmd
}

// queueEvents queues one script call that appends an event per revoked
// session: one command per batch, not one XADD per session. The sessions
// are one batch's, of one tenant and partner.
func (s *Store) queueEvents(ctx context.Context, pipe redis.Pipeliner, revoked []session.Revoked, at time.Time, reason, actor string) *eventsCall {
	if len(revoked) == 0 {
		return nil
	}
	call := appendEventsCall{
		stream: eventsKey, retention: s.retention, typ: session.EventRevoked,
		tenantID: revoked[0].TenantID, partnerID: revoked[0].PartnerID,
		revokedAt: at.UTC().Format(time.RFC3339Nano), reason: reason, actor: actor,
		sessionUser: make([]string, 0, 2*len(revoked)),
	}
	for _, r := range revoked {
		call.sessionUser = append(call.sessionUser, r.ID, r.UserID)
	}
	return &eventsCall{call: call, cmd: queue(ctx, pipe, call)}
}

// err is the call's outcome once its pipeline ran. A script the server did
// not know (NOSCRIPT: nothing ran) is loaded and run again here.
func (c *eventsCall) err(ctx context.Context, rdb redis.UniversalClient) error {
	if c == nil {
		return nil
	}
	if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
		return run(ctx, rdb, c.call).Err()
	}
	return c.cmd.Err()
}

// EventsAfter reads the revocation stream after afterID (XRANGE, or XREAD
// BLOCK when wait > 0 and nothing is there yet).
func (s *Store) EventsAfter(ctx context.Context, afterID string, n int, wait time.Duration) ([]session.Event, error) {
	start := "-"
	if afterID == "0" || afterID == "0-0" {
		afterID = ""
	}
	if afterID != "" {
		if !validStreamID(afterID) {
			return nil, session.ErrEventsTrimmed
		}
		if err := s.checkRetained(ctx, afterID); err != nil {
			return nil, err
		}
		start = "(" + afterID
	}
	msgs, err := s.rdb.XRangeN(ctx, eventsKey, start, "+", int64(n)).Result()
	if err != nil {
		return nil, wrap("events", err)
	}
	if len(msgs) == 0 && wait > 0 {
		from := afterID
		if from == "" {
			from = "0-0"
		}
		streams, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{eventsKey, from}, Count: int64(n), Block: wait}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("events: wait", err)
		}
		for _, st := range streams {
			msgs = append(msgs, st.Messages...)
		}
	}
	out := make([]session.Event, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, decodeEvent(m))
	}
	return out, nil
}

// checkRetained fails with ErrEventsTrimmed when the log cannot vouch for
// what follows afterID: afterID is older than the oldest retained event
// (entries may have been trimmed; it errs on the safe side when afterID is
// exactly the event before the oldest), or newer than the newest one, or the
// log is empty (Redis lost its data, or a failover promoted a replica that
// had not seen those events; new events could get lower ids and be skipped).
func (s *Store) checkRetained(ctx context.Context, afterID string) error {
	pipe := s.rdb.Pipeline()
	first := pipe.XRangeN(ctx, eventsKey, "-", "+", 1)
	last := pipe.XRevRangeN(ctx, eventsKey, "+", "-", 1)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("events: bounds", err)
	}
	f, l := first.Val(), last.Val()
	if len(f) == 0 || len(l) == 0 || compareIDs(afterID, f[0].ID) < 0 || compareIDs(afterID, l[0].ID) > 0 {
		return session.ErrEventsTrimmed
	}
	return nil
}

// LastEventID returns the newest event id, "" when the stream is empty.
func (s *Store) LastEventID(ctx context.Context) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, eventsKey, "+", "-", 1).Result()
	if err != nil {
		return "", wrap("events: last", err)
	}
	if len(msgs) == 0 {
		return "", nil
	}
	return msgs[0].ID, nil
}

func decodeEvent(m redis.XMessage) session.Event {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := time.Parse(time.RFC3339Nano, str("revoked_at"))
	return session.Event{
		ID: m.ID, Type: str("type"), SessionID: str("session_id"), UserID: str("user_id"),
		TenantID: str("tenant_id"), PartnerID: str("partner_id"), RevokedAt: at,
		Reason: str("reason"), Actor: str("actor"),
	}
}

// validStreamID reports whether id is "<ms>-<seq>" or "<ms>".
func validStreamID(id string) bool {
	msPart, seq, hasSeq := strings.Cut(id, "-")
	if _, err := strconv.ParseUint(msPart, 10, 64); err != nil {
		return false
	}
	if hasSeq {
		if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// compareIDs orders two stream ids.
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		return cmpU(am, bm)
	default:
		return cmpU(as, bs)
	}
}

func splitID(id string) (uint64, uint64) {
	m, s, _ := strings.Cut(id, "-")
	mv, _ := strconv.ParseUint(m, 10, 64)
	sv, _ := strconv.ParseUint(s, 10, 64)
	return mv, sv
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
