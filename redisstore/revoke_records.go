package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// Revocation records: no revocation event is lost.
//
// revoke_batch.lua revokes a batch of sessions and, in the same atomic step in the
// tenant slot, stores one record of what the batch's events and cross-tenant
// cleanup need:
//
//	rv:{T}   hash   record id -> record of one revoked batch; the key expires
//	                relayHorizon after its newest record
//
// A record id is "<ms>-<random>-<n>" (ms: the revocation time). A record is
// "<header>\x1f<partner>\x1f<sid1>\x1f<uid1>\x1f<sid2>\x1f<uid2>...", header
// being the JSON of recordHeader (tenant, reason, actor, time) and partner
// the tenant's when the script ran. The events
// stream (eventsKey), the id pointers and the views live in other slots,
// so the request that revoked the batch then appends the events, drops the
// pointers and view members in a pipeline, and deletes the record only once
// all of that succeeded. A record still there relayGrace after its time means
// that step never happened (the process died, Redis's reply to the script was
// lost, a pipeline failed): the tenant sweep relays it the same way. Before
// the script runs, the tenant's score in tn:{#g} is raised to at least
// visitHorizon from now, so that the sweep visits it even when its last
// session expires meanwhile (a tenant that is not in tn:{#g} has no live
// session, hence nothing to revoke, and is left out).
//
// Delivery is at least once: a request that stalls for more than relayGrace
// between its script and its pipeline, or dies between the pipeline and the
// record's deletion, makes the sweep append the batch's events again.
// Followers must treat events as idempotent (a revoked session stays revoked).

const (
	// relayGrace leaves a record to the request that wrote it; the sweep
	// relays only older ones.
	relayGrace = outboxGrace
	// relayHorizon is how long a record waits for a sweep before it expires.
	relayHorizon = 24 * time.Hour
	// recordSep separates the fields of a record; no id contains it.
	recordSep = "\x1f"
)

// visitHorizon is how long after a revocation the sweep keeps visiting its
// tenant at least: past relayGrace, for several sweep periods (the lock
// period is a little below the sweep interval).
func (s *Store) visitHorizon() time.Duration {
	return min(relayHorizon, max(15*time.Minute, relayGrace+5*s.lockTTL))
}

// recordHeader is what a batch's events share.
type recordHeader struct {
	Tenant  string `json:"t"`
	Partner string `json:"-"` // the record's second field
	Reason  string `json:"r,omitempty"`
	Actor   string `json:"a,omitempty"`
	At      int64  `json:"at"` // ms
}

// revokedBatch is one batch revoke_batch.lua revoked, as its record says.
type revokedBatch struct {
	id      string
	header  recordHeader
	revoked []session.Revoked
}

// recordIDs makes the ids of one revocation's records.
type recordIDs struct {
	prefix string
	n      int
}

func newRecordIDs(now time.Time) *recordIDs {
	return &recordIDs{prefix: itoa(ms(now)) + "-" + strconv.FormatUint(rand.Uint64(), 36) + "-"}
}

func (r *recordIDs) next() string {
	r.n++
	return r.prefix + strconv.Itoa(r.n)
}

// recordTime is the revocation time of a record id.
func recordTime(id string) (int64, bool) {
	v, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// decodeRecord parses a record revoke_batch.lua stored (and replied).
func decodeRecord(id, rec string) (*revokedBatch, error) {
	parts := strings.Split(rec, recordSep)
	b := &revokedBatch{id: id}
	if err := json.Unmarshal([]byte(parts[0]), &b.header); err != nil {
		return nil, fmt.Errorf("redisstore: revocation record %s: %w", id, err)
	}
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("redisstore: revocation record %s: %d fields", id, len(parts))
	}
	b.header.Partner = parts[1]
	b.revoked = make([]session.Revoked, 0, len(parts)/2-1)
	for i := 2; i+1 < len(parts); i += 2 {
		b.revoked = append(b.revoked, session.Revoked{
			ID: parts[i], UserID: parts[i+1], TenantID: b.header.Tenant, PartnerID: b.header.Partner,
		})
	}
	return b, nil
}

// relayCmds are the commands queueRelay queued.
type relayCmds struct {
	events *eventsCall
	cmds   []redis.Cmder
}

// err is the first failure among them once their pipeline ran.
func (r relayCmds) err(ctx context.Context, rdb redis.UniversalClient) error {
	if err := r.events.err(ctx, rdb); err != nil {
		return err
	}
	for _, c := range r.cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// queueRelay queues, on pipe, what follows a revoked batch outside its
// tenant slot: its events, and the removal of its id pointers and view
// members. The record's deletion waits for all of them to succeed.
func (s *Store) queueRelay(ctx context.Context, pipe redis.Pipeliner, b *revokedBatch) relayCmds {
	var rc relayCmds
	if len(b.revoked) == 0 {
		return rc
	}
	rc.events = s.queueEvents(ctx, pipe, b.revoked, fromMS(b.header.At), b.header.Reason, b.header.Actor)
	if s.history > 0 {
		// With history the id stays taken while its ended record is kept
		// (and GetEnded finds the tenant by it).
		keep := b.header.At + s.history.Milliseconds()
		for _, r := range b.revoked {
			rc.cmds = append(rc.cmds, pipe.PExpireAt(ctx, pointerKey(r.ID), time.UnixMilli(keep)))
		}
	} else if _, cluster := s.rdb.(*redis.ClusterClient); cluster {
		// Every pointer has its own slot.
		for _, r := range b.revoked {
			rc.cmds = append(rc.cmds, pipe.Del(ctx, pointerKey(r.ID)))
		}
	} else {
		ptrs := make([]string, len(b.revoked))
		for i, r := range b.revoked {
			ptrs[i] = pointerKey(r.ID)
		}
		rc.cmds = append(rc.cmds, pipe.Del(ctx, ptrs...))
	}
	sids := make([]string, len(b.revoked))
	for i, r := range b.revoked {
		sids[i] = r.ID
	}
	rc.cmds = append(rc.cmds, s.views.queueRemove(ctx, pipe, "", b.header.Tenant, sids)...)
	if b.header.Partner != "" {
		rc.cmds = append(rc.cmds, s.views.queueRemove(ctx, pipe, b.header.Partner, b.header.Tenant, sids)...)
	}
	return rc
}

// relayRecords finishes the given records of a tenant, if they are still
// there: events, pointers, views, then the record's deletion. It returns the
// batches it relayed.
func (s *Store) relayRecords(ctx context.Context, k keys, ids ...string) ([]*revokedBatch, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	recs, err := s.rdb.HMGet(ctx, k.records(), ids...).Result()
	if err != nil {
		return nil, wrap("revoke: records", err)
	}
	var out []*revokedBatch
	for i, v := range recs {
		rec, ok := v.(string)
		if !ok {
			continue
		}
		b, err := decodeRecord(ids[i], rec)
		if err != nil {
			// Not this version's format: left alone, it expires with the key.
			continue
		}
		pipe := s.rdb.Pipeline()
		rc := s.queueRelay(ctx, pipe, b)
		_, _ = pipe.Exec(ctx)
		if err := rc.err(ctx, s.rdb); err != nil {
			return out, wrap("revoke: relay", err)
		}
		if err := s.rdb.HDel(ctx, k.records(), b.id).Err(); err != nil {
			return out, wrap("revoke: relay done", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// relayRevocations is the tenant sweep's part: it relays every record of
// the tenant older than relayGrace (see the top of this file) and returns
// how many sessions they held.
func (s *Store) relayRevocations(ctx context.Context, tenantID string, nowMS int64) (int, error) {
	k := tenantKeys(tenantID)
	ids, err := s.rdb.HKeys(ctx, k.records()).Result()
	if err != nil {
		return 0, wrap("sweep: revocation records", err)
	}
	cutoff := nowMS - relayGrace.Milliseconds()
	var old []string
	for _, id := range ids {
		if at, ok := recordTime(id); !ok || at <= cutoff {
			old = append(old, id)
		}
	}
	total := 0
	for len(old) > 0 {
		n := min(len(old), 10)
		got, err := s.relayRecords(ctx, k, old[:n]...)
		for _, b := range got {
			total += len(b.revoked)
		}
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
		old = old[n:]
	}
	return total, nil
}
