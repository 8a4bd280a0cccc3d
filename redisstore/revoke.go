package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// Revoke removes the sessions r selects, tenant by tenant, in batches of at
// most RevokeBatch sessions per script call, so that no call blocks Redis for
// long and no batch costs a round trip per session. Each batch is atomic in
// the tenant slot and writes a revocation record there (revoke_records.go); the
// events, id pointers and cross-tenant views follow right after it, and the
// sweep relays a record a crash or a lost reply left behind. Events are
// therefore delivered at least once.
func (s *Store) Revoke(ctx context.Context, r session.Revocation) ([]session.Revoked, error) {
	f := r.Filter
	var tenants []string
	var err error
	switch {
	case f.TenantID != "":
		var ok bool
		if ok, err = s.tenantInPartner(ctx, f.TenantID, f.PartnerID); ok {
			tenants = []string{f.TenantID}
		}
	case f.UserID != "":
		tenants, err = s.userTenants(ctx, f.UserID, f.PartnerID)
	case f.PartnerID != "":
		var all []string
		if all, err = s.rdb.SMembers(ctx, partnerTenantsKey(f.PartnerID)).Result(); err == nil {
			tenants, err = s.filterTenants(ctx, all, f.PartnerID)
		}
	default:
		return nil, errors.New("redisstore: revoke: empty filter")
	}
	if err != nil {
		return nil, wrap("revoke: tenants", err)
	}
	out := []session.Revoked{}
	for _, t := range tenants {
		got, err := s.revokeInTenant(ctx, t, f.UserID, r)
		if len(out) == 0 && got != nil {
			// The first tenant's list is kept as it is: a revoke-all of a
			// large tenant is not copied again.
			out = got
		} else {
			out = append(out, got...)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// revokeInTenant revokes the sessions of one tenant that r selects, batch by
// batch (tenantRevocation).
func (s *Store) revokeInTenant(ctx context.Context, tenantID, userID string, r session.Revocation) ([]session.Revoked, error) {
	now := s.now().Truncate(time.Millisecond)
	if err := s.beginRevoke(ctx, tenantID, now); err != nil {
		return nil, err
	}
	t, err := s.newTenantRevocation(tenantID, userID, r, now)
	if err != nil {
		return nil, err
	}
	return t.run(ctx)
}

// recoverTimeout bounds what a failed revocation spends finishing its
// recorded batches before it answers (each command is also bounded by the
// client's read timeout).
const recoverTimeout = 2 * time.Second

// tenantRevocation is one tenant's revocation. Each round trip carries the
// previous batch's cleanup (events, pointers, views: other slots), the
// deletion of the record before it, and the next batch's script, so a
// revocation costs about one round trip per batch, plus the reads that name
// the next batch's keys. On a failure it finishes at once what the records
// say was revoked and reports the failure; the sweep relays whatever it
// could not finish.
type tenantRevocation struct {
	s      *Store
	k      keys
	ids    []string // the ids to revoke; none = every session the filter selects
	shared revokeBatchCall
	rids   *recordIDs

	out      []session.Revoked
	pend     *revokedBatch // revoked; its cleanup is not sent yet
	done     string        // record whose cleanup succeeded; its deletion is not sent yet
	offset   int64         // rank of the next candidate in the source index
	nextID   int           // index of the next id in ids
	finished bool          // no script call left
	stopErr  error         // a replica shortfall: the cleanup is finished, then it is reported
}

func (s *Store) newTenantRevocation(tenantID, userID string, r session.Revocation, now time.Time) (*tenantRevocation, error) {
	k := tenantKeys(tenantID)
	hdr, err := json.Marshal(recordHeader{Tenant: tenantID, Reason: r.Reason, Actor: r.Actor, At: ms(now)})
	if err != nil {
		return nil, fmt.Errorf("redisstore: revoke: record header: %w", err)
	}
	shared := revokeBatchCall{
		all: k.all(), users: k.users(), revokedCounter: k.revoked(now), records: k.records(), partner: k.partner(),
		source: k.all(), nowMS: ms(now), counterTTLSeconds: int(counterTTL.Seconds()), requiredUser: userID,
		exceptID: r.ExceptID, recordHeader: string(hdr), recordsExpireMS: ms(now.Add(relayHorizon)), sourceRank: -1,
		ended: k.ended(), endedDrop: k.endedDrop(), endedAll: k.endedAll(), audit: k.audit(), auditOrder: k.auditOrder(),
		unionAll: k.unionAll(), historyMS: s.history.Milliseconds(), historyMax: s.histMax, auditMax: auditMax,
	}
	if s.history > 0 {
		if shared.auditHeader, err = auditHeaderOf(r, now); err != nil {
			return nil, err
		}
		shared.auditID = newRecordIDs(now).next()
	}
	if userID != "" {
		shared.source = k.user(userID)
	}
	for _, d := range session.DeviceTypes {
		shared.deviceTypes = append(shared.deviceTypes, d)
		shared.devIdx = append(shared.devIdx, k.device(d))
	}
	return &tenantRevocation{s: s, k: k, ids: r.IDs, shared: shared, rids: newRecordIDs(now)}, nil
}

// run sends batch after batch until nothing is left to revoke or clean up.
func (t *tenantRevocation) run(ctx context.Context) ([]session.Revoked, error) {
	for {
		call, err := t.nextBatch(ctx)
		if err != nil {
			// Nothing of this round trip was sent: finish the earlier batches.
			t.recover(ctx, t.pend, t.done, nil, false)
			return t.out, err
		}
		if call == nil && t.pend == nil && t.done == "" {
			return t.out, t.stopErr
		}
		res := t.s.revokeStep(ctx, t.k, t.pend, t.done, call)
		if err := t.absorb(ctx, call, res); err != nil {
			return t.out, err
		}
	}
}

// nextBatch picks the next batch's candidates and names every key its
// script may touch; nil when no script call is left.
func (t *tenantRevocation) nextBatch(ctx context.Context) (*revokeBatchCall, error) {
	if t.finished || t.stopErr != nil {
		return nil, nil
	}
	call := t.shared
	batch := t.s.batch
	if len(t.ids) > 0 {
		call.ids = t.ids[t.nextID:min(len(t.ids), t.nextID+batch)]
		t.nextID += len(call.ids)
		t.finished = t.nextID >= len(t.ids)
	} else {
		ids, err := t.s.rdb.ZRange(ctx, call.source, t.offset, t.offset+int64(batch)-1).Result()
		if err != nil {
			return nil, wrap("revoke: candidates", err)
		}
		t.finished = len(ids) < batch
		if len(ids) == 0 {
			return nil, nil
		}
		call.ids, call.sourceRank = ids, t.offset
	}
	call.hashes = make([]string, len(call.ids))
	for i, id := range call.ids {
		call.hashes[i] = t.k.session(id)
	}
	users, err := t.users(ctx, call.hashes)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		call.userIDs = append(call.userIDs, u)
		call.userIdx = append(call.userIdx, t.k.user(u))
		call.userHist = append(call.userHist, t.k.endedUser(u))
		call.userUnion = append(call.userUnion, t.k.unionUser(u))
		call.userDrop = append(call.userDrop, t.k.endedUserDrop(u))
	}
	call.recordID = t.rids.next()
	return &call, nil
}

// users are the distinct users of the given session hashes: the user
// indexes the batch may change. A user revocation changes its own only.
// The hashes are read in one pipeline (one round trip, no script: Redis
// answers each HGET without Lua's cost per call).
func (t *tenantRevocation) users(ctx context.Context, hashes []string) ([]string, error) {
	if u := t.shared.requiredUser; u != "" {
		return []string{u}, nil
	}
	pipe := t.s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(hashes))
	for i, h := range hashes {
		cmds[i] = pipe.HGet(ctx, h, fUser)
	}
	_, _ = pipe.Exec(ctx)
	seen := map[string]bool{}
	var out []string
	for _, c := range cmds {
		u, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("revoke: users", err)
		}
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// absorb takes a round trip's outcome: the revoked batch joins the output
// and waits for its cleanup, which the next round trip sends. On a failure
// it finishes what is recorded and returns the failure.
func (t *tenantRevocation) absorb(ctx context.Context, call *revokeBatchCall, res stepResult) error {
	prev, deleted := t.pend, t.done
	t.pend, t.done = nil, ""
	var b *revokedBatch
	runErr := res.runErr
	if res.reply != nil {
		var kept int64
		var err error
		b, _, kept, err = parseRevokeReply(call.recordID, res.reply)
		if err != nil {
			runErr = err
		}
		if b != nil {
			t.out = append(t.out, b.revoked...)
		}
		t.offset += kept
	}
	if res.cleanErr != nil || runErr != nil {
		var rec *revokeBatchCall
		if call != nil && (b != nil || res.reply == nil) {
			rec = call // it may have written its record
		}
		if res.cleanErr == nil {
			// prev's cleanup succeeded: only its record's deletion is left.
			deleted = ""
			if prev != nil {
				deleted = prev.id
			}
			prev = nil
		}
		t.recover(ctx, prev, deleted, rec, res.reply == nil)
		return errors.Join(res.cleanErr, runErr)
	}
	if prev != nil {
		t.done = prev.id
	}
	t.pend = b
	if res.durErr != nil {
		// The batch is revoked on the primary even when too few replicas
		// acknowledged it: its cleanup still follows, then the shortfall
		// is reported.
		t.stopErr = res.durErr
	}
	return nil
}

// recover finishes, with a context the caller's cancellation does not end
// (bounded), what a failed round trip may have left recorded: the cleanup
// of batch prev, the deletion of record deleted (whose events are written),
// and the records call may have written. When call's reply was lost, the
// sessions its record holds join the output.
// What it cannot finish, the sweep relays.
func (t *tenantRevocation) recover(ctx context.Context, prev *revokedBatch, deleted string, call *revokeBatchCall, replyLost bool) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
	defer cancel()
	var ids []string
	if prev != nil {
		ids = append(ids, prev.id)
	}
	if deleted != "" {
		_ = t.s.rdb.HDel(rctx, t.k.records(), deleted).Err()
	}
	if call != nil {
		ids = append(ids, call.recordID)
	}
	relayed, _ := t.s.relayRecords(rctx, t.k, ids...)
	for _, rb := range relayed {
		if replyLost && call != nil && rb.id == call.recordID {
			t.out = append(t.out, rb.revoked...)
		}
	}
}

// stepResult is what one round trip of a tenantRevocation brought back.
type stepResult struct {
	reply    []any // the script's reply; nil when it did not answer
	cleanErr error // the previous batch's cleanup, or a record's deletion, failed
	runErr   error // the script did not answer (it may have run)
	durErr   error // the script ran, but too few replicas acknowledged it
}

// revokeStep sends the cleanup of pend, the deletion of record done, and
// the script call, in one pipeline: go-redis splits it by slot on Cluster.
// With WAIT on Cluster the script goes apart (runDurable), on its slot's
// master. When replicas are configured and the script shares the pipeline's
// connection, WAIT follows it and covers the cleanup too.
func (s *Store) revokeStep(ctx context.Context, k keys, pend *revokedBatch, done string, call *revokeBatchCall) stepResult {
	var res stepResult
	_, cluster := s.rdb.(*redis.ClusterClient)
	apart := call != nil && s.wait > 0 && cluster
	pipe := s.rdb.Pipeline()
	var cleanup relayCmds
	if pend != nil {
		cleanup = s.queueRelay(ctx, pipe, pend)
	}
	if done != "" {
		cleanup.cmds = append(cleanup.cmds, pipe.HDel(ctx, k.records(), done))
	}
	var script, acks *redis.Cmd
	if call != nil && !apart {
		script = queue(ctx, pipe, *call)
		if s.wait > 0 {
			acks = pipe.Do(ctx, "WAIT", s.wait, s.waitT.Milliseconds())
		}
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx)
	}
	if err := cleanup.err(ctx, s.rdb); err != nil {
		res.cleanErr = wrap("revoke: cleanup", err)
	}
	switch {
	case call == nil:
		return res
	case apart && res.cleanErr != nil:
		return res
	case apart, redis.HasErrorPrefix(script.Err(), "NOSCRIPT"):
		if !apart {
			// The script did not run: load it, then run it (with its WAIT).
			if err := revokeBatchScript.Load(ctx, s.rdb).Err(); err != nil {
				res.runErr = wrap("revoke: load script", err)
				return res
			}
		}
		reply, err := s.runDurable(ctx, *call)
		res.reply = reply
		if reply == nil {
			res.runErr = wrap("revoke", err)
		} else {
			res.durErr = wrap("revoke", err)
		}
		return res
	}
	reply, err := script.Slice()
	if err != nil {
		res.runErr = wrap("revoke", err)
		return res
	}
	res.reply = reply
	if acks != nil {
		n, err := acks.Int64()
		switch {
		case err != nil:
			res.durErr = wrap("revoke: wait", err)
			if !errors.Is(res.durErr, session.ErrUnavailable) {
				res.durErr = fmt.Errorf("%w: %w", session.ErrUnavailable, res.durErr)
			}
		default:
			res.durErr = wrap("revoke", s.shortfall(n))
		}
	}
	return res
}

// parseRevokeReply reads revoke_batch.lua's reply {examined, kept, record}; b is
// nil when the batch revoked nothing.
func parseRevokeReply(id string, reply []any) (b *revokedBatch, examined, kept int64, err error) {
	if len(reply) < 3 {
		return nil, 0, 0, fmt.Errorf("redisstore: revoke: short reply %d", len(reply))
	}
	examined, _ = reply[0].(int64)
	kept, _ = reply[1].(int64)
	rec, _ := reply[2].(string)
	if rec == "" {
		return nil, examined, kept, nil
	}
	b, err = decodeRecord(id, rec)
	return b, examined, kept, err
}

// beginRevoke keeps the tenant on the sweep's list for visitHorizon at
// least, before any record of this revocation can exist: the sweep must
// visit the tenant to relay a record left behind. Only a listed tenant can
// have live sessions (Create lists it first), so an unlisted one is left out,
// and most revocations change nothing here: a tenant's score is the latest
// absolute expiry of its sessions. Like every step of a revocation, it runs
// when Redis is full (visit.lua).
func (s *Store) beginRevoke(ctx context.Context, tenantID string, now time.Time) error {
	until := ms(now.Add(s.visitHorizon()))
	if err := run(ctx, s.rdb, visitCall{tenants: s.views.tenantKey(tenantID), tenantID: tenantID, untilMS: until}).Err(); err != nil {
		return wrap("revoke: tenant", err)
	}
	return nil
}

// runDurable runs a script; when replicas are configured it sends WAIT on the
// same connection right after it, so that an acknowledged revocation survives
// a failover. On Cluster the connection is the master of the keys' slot. On a
// replica shortfall it returns the script's reply and an error wrapping
// session.ErrUnavailable.
func (s *Store) runDurable(ctx context.Context, call luaCall) ([]any, error) {
	if s.wait <= 0 {
		return run(ctx, s.rdb, call).Slice()
	}
	sc, keys := call.script(), call.keys()
	var c redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		c = node
	}
	for attempt := 0; ; attempt++ {
		pipe := c.Pipeline()
		res := queue(ctx, pipe, call)
		acks := pipe.Do(ctx, "WAIT", s.wait, s.waitT.Milliseconds())
		_, _ = pipe.Exec(ctx)
		if redis.HasErrorPrefix(res.Err(), "NOSCRIPT") && attempt == 0 {
			if err := sc.Load(ctx, c).Err(); err != nil {
				return nil, err
			}
			continue
		}
		out, err := res.Slice()
		if err != nil {
			return nil, err
		}
		n, err := acks.Int64()
		if err != nil {
			return nil, err
		}
		return out, s.shortfall(n)
	}
}

// shortfall is nil when n replicas, as WAIT answered, are enough, and an
// error wrapping session.ErrUnavailable when they are too few.
func (s *Store) shortfall(n int64) error {
	if n < int64(s.wait) {
		return fmt.Errorf("%d of %d replicas acknowledged: %w", n, s.wait, session.ErrUnavailable)
	}
	return nil
}
