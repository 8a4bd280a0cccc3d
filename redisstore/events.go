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

// The revocation stream (eventsKey) holds one entry per revoked batch (up
// to Options.RevokeBatch sessions of one tenant), which readers expand into
// one event per session: the event ids of an entry of n > 1 sessions are
// "<entry id>.<i>" (i from 0), of an entry of one session the entry id, so
// a follower resumes exactly inside a batch. It keeps about
// Options.EventRetention events (append_events.lua trims the oldest entries
// with each append). Events are delivered at least once: a batch whose
// reply was lost, or whose request died, is relayed by the sweep from its
// revocation record (revoke_records.go), and a request that stalls past the
// sweep's grace period can see its batch's events appended twice.

// eventsCall is one append_events.lua call in a pipeline.
type eventsCall struct {
	call appendEventsCall
	cmd  *redis.Cmd
}

// queueEvents queues one script call that appends the batch's entry: one
// command and one entry per batch, not one per session. The sessions are
// one batch's, of one tenant and partner.
func (s *Store) queueEvents(ctx context.Context, pipe redis.Pipeliner, revoked []session.Revoked, at time.Time, reason, actor string) *eventsCall {
	if len(revoked) == 0 {
		return nil
	}
	call := appendEventsCall{
		stream: eventsKey, count: eventsCountKey, retention: s.retention, typ: session.EventRevoked,
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
// BLOCK when wait > 0 and nothing is there yet), at most n events.
func (s *Store) EventsAfter(ctx context.Context, afterID string, n int, wait time.Duration) ([]session.Event, error) {
	if afterID == "0" || afterID == "0-0" {
		afterID = ""
	}
	entry, index := "", -1
	if afterID != "" {
		var ok bool
		if entry, index, ok = splitEventID(afterID); !ok || !validStreamID(entry) {
			return nil, session.ErrEventsTrimmed
		}
		if err := s.checkRetained(ctx, entry); err != nil {
			return nil, err
		}
	}
	out := make([]session.Event, 0, min(n, 1024))
	// From the entry itself when the follower stopped inside it.
	start := "-"
	switch {
	case entry != "" && index >= 0:
		start = entry
	case entry != "":
		start = "(" + entry
	}
	for len(out) < n {
		want := min(n-len(out), 128)
		msgs, err := s.rdb.XRangeN(ctx, eventsKey, start, "+", int64(want)).Result()
		if err != nil {
			return nil, wrap("events", err)
		}
		for _, m := range msgs {
			out = appendEvents(out, m, entry, index)
		}
		if len(msgs) < want {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	if len(out) == 0 && wait > 0 {
		from := entry
		if from == "" {
			from = "0-0"
		}
		streams, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{eventsKey, from}, Count: int64(min(n, 128)), Block: wait}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("events: wait", err)
		}
		for _, st := range streams {
			for _, m := range st.Messages {
				out = appendEvents(out, m, "", -1)
			}
		}
	}
	if len(out) > n {
		out = out[:n]
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
	evs := decodeEntry(msgs[0])
	return evs[len(evs)-1].ID, nil
}

// appendEvents appends the events of entry m, those of entry skipEntry up
// to index skipTo (inclusive) left out.
func appendEvents(out []session.Event, m redis.XMessage, skipEntry string, skipTo int) []session.Event {
	evs := decodeEntry(m)
	if m.ID == skipEntry && skipTo >= 0 {
		if skipTo+1 >= len(evs) {
			return out
		}
		evs = evs[skipTo+1:]
	}
	return append(out, evs...)
}

// decodeEntry expands a stream entry into its events: one per session of a
// batch entry, or the one event of an older version's entry.
func decodeEntry(m redis.XMessage) []session.Event {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := time.Parse(time.RFC3339Nano, str("revoked_at"))
	base := session.Event{
		ID: m.ID, Type: str("type"), TenantID: str("tenant_id"), PartnerID: str("partner_id"),
		RevokedAt: at, Reason: str("reason"), Actor: str("actor"),
	}
	sids, ok := m.Values["session_ids"].(string)
	if !ok {
		base.SessionID, base.UserID = str("session_id"), str("user_id")
		return []session.Event{base}
	}
	ids, uids := strings.Split(sids, ","), strings.Split(str("user_ids"), ",")
	out := make([]session.Event, len(ids))
	for i, sid := range ids {
		e := base
		e.SessionID = sid
		if i < len(uids) {
			e.UserID = uids[i]
		}
		if len(ids) > 1 {
			e.ID = m.ID + "." + strconv.Itoa(i)
		}
		out[i] = e
	}
	return out
}

// splitEventID splits an event id into its entry id and its index in the
// entry (-1 when it names a whole entry).
func splitEventID(id string) (entry string, index int, ok bool) {
	entry, idx, found := strings.Cut(id, ".")
	if !found {
		return entry, -1, true
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return "", 0, false
	}
	return entry, i, true
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
