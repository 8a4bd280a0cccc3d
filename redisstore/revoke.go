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
// the tenant slot and writes a revocation record there (revocations.go); the
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
		out = append(out, got...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// revokeInTenant revokes the sessions of one tenant that r selects, batch by
// batch. Each round trip carries the previous batch's cleanup (events,
// pointers, views: other slots), the deletion of the record before it, and
// the next batch's script, so a revocation costs about one round trip per
// batch. On a failure it finishes at once what the records say was revoked
// and reports the failure; the sweep relays whatever it could not finish.
func (s *Store) revokeInTenant(ctx context.Context, tenantID, userID string, r session.Revocation) ([]session.Revoked, error) {
	now := s.now().Truncate(time.Millisecond)
	if err := s.beginRevoke(ctx, tenantID, now); err != nil {
		return nil, err
	}
	plan, err := newRevokePlan(tenantID, userID, r, now)
	if err != nil {
		return nil, err
	}
	k := plan.k
	src := k.all()
	if userID != "" {
		src = k.user(userID)
	}

	var (
		out      []session.Revoked
		pend     *revokedBatch // revoked; its cleanup is not sent yet
		done     string        // record whose cleanup succeeded; its deletion is not sent yet
		offset   int64         // idx mode: rank of the next candidate
		nextID   int           // ids mode: index of the next id
		finished bool          // no script call left
		stopErr  error         // a replica shortfall: the cleanup is finished, then it is reported
	)
	for {
		var call *scriptCall
		if !finished && stopErr == nil {
			if len(r.IDs) > 0 {
				ids := r.IDs[nextID:min(len(r.IDs), nextID+s.batch)]
				nextID += len(ids)
				finished = nextID >= len(r.IDs)
				call = plan.ids(ids)
			} else {
				call = plan.call("idx", src, offset, s.batch)
			}
		}
		if call == nil && pend == nil && done == "" {
			return out, stopErr
		}
		res := s.revokeStep(ctx, k, pend, done, call)
		prev, deleted := pend, done
		pend, done = nil, ""
		var b *revokedBatch
		runErr := res.runErr
		if res.reply != nil {
			var examined, kept int64
			b, examined, kept, err = parseRevokeReply(call.id, res.reply)
			if err != nil {
				runErr = err
			}
			if b != nil {
				out = append(out, b.revoked...)
			}
			offset += kept
			if len(r.IDs) == 0 && examined < int64(s.batch) {
				finished = true
			}
		}
		if res.cleanErr != nil || runErr != nil {
			// Finish now what may be recorded, so that the events are not
			// left to the sweep (also when the caller went away); then
			// report the failure.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
			defer cancel()
			var ids []string
			if res.cleanErr != nil {
				if prev != nil {
					ids = append(ids, prev.id)
				}
				if deleted != "" {
					// Its events are written: only the deletion may be missing.
					_ = s.rdb.HDel(rctx, k.records(), deleted).Err()
				}
			}
			if call != nil && (b != nil || res.reply == nil) {
				ids = append(ids, call.id)
			}
			relayed, _ := s.relayRecords(rctx, k, ids...)
			for _, rb := range relayed {
				if res.reply == nil && rb.id == call.id {
					out = append(out, rb.revoked...)
				}
			}
			return out, errors.Join(res.cleanErr, runErr)
		}
		if prev != nil {
			done = prev.id
		}
		pend = b
		if res.durErr != nil {
			// The batch is revoked on the primary even when too few replicas
			// acknowledged it: its cleanup still follows, then the shortfall
			// is reported.
			stopErr = res.durErr
		}
	}
}

// recoverTimeout bounds what a failed revocation spends finishing its
// recorded batches before it answers (each command is also bounded by the
// client's read timeout).
const recoverTimeout = 2 * time.Second

// scriptCall is one revoke_batch.lua call; id names the record it may write.
type scriptCall struct {
	id   string
	keys []string
	args []any
}

// revokePlan holds what the script calls of one tenant's revocation share.
type revokePlan struct {
	k    keys
	keys []string
	base []any // ARGV 1-5
	tail []any // ARGV 7-8
	rids *recordIDs
}

func newRevokePlan(tenantID, userID string, r session.Revocation, now time.Time) (*revokePlan, error) {
	k := tenantKeys(tenantID)
	hdr, err := json.Marshal(recordHeader{Tenant: tenantID, Reason: r.Reason, Actor: r.Actor, At: ms(now)})
	if err != nil {
		return nil, fmt.Errorf("redisstore: revoke: record header: %w", err)
	}
	return &revokePlan{
		k:    k,
		keys: []string{k.all(), k.users(), k.revoked(now), k.records(), k.partner()},
		base: []any{k.tag, ms(now), int(counterTTL.Seconds()), userID, r.ExceptID},
		tail: []any{string(hdr), ms(now.Add(relayHorizon))},
		rids: newRecordIDs(now),
	}, nil
}

// call is the next script call, with its own record id; mode is ARGV 9...
func (p *revokePlan) call(mode ...any) *scriptCall {
	id := p.rids.next()
	args := make([]any, 0, len(p.base)+1+len(p.tail)+len(mode))
	args = append(append(append(append(args, p.base...), id), p.tail...), mode...)
	return &scriptCall{id: id, keys: p.keys, args: args}
}

// ids is the call revoking the given session ids.
func (p *revokePlan) ids(ids []string) *scriptCall {
	mode := make([]any, 0, len(ids)+1)
	mode = append(mode, "ids")
	for _, sid := range ids {
		mode = append(mode, sid)
	}
	return p.call(mode...)
}

// stepResult is what one round trip of revokeInTenant brought back.
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
func (s *Store) revokeStep(ctx context.Context, k keys, pend *revokedBatch, done string, call *scriptCall) stepResult {
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
	var run, acks *redis.Cmd
	if call != nil && !apart {
		run = revokeBatchScript.EvalSha(ctx, pipe, call.keys, call.args...)
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
	case apart, redis.HasErrorPrefix(run.Err(), "NOSCRIPT"):
		if !apart {
			// The script did not run: load it, then run it (with its WAIT).
			if err := revokeBatchScript.Load(ctx, s.rdb).Err(); err != nil {
				res.runErr = wrap("revoke: load script", err)
				return res
			}
		}
		reply, err := s.runDurable(ctx, revokeBatchScript, call.keys, call.args...)
		res.reply = reply
		if reply == nil {
			res.runErr = wrap("revoke", err)
		} else {
			res.durErr = wrap("revoke", err)
		}
		return res
	}
	reply, err := run.Slice()
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
	if err := visitScript.Run(ctx, s.rdb, []string{tenantsKey}, tenantID, until).Err(); err != nil {
		return wrap("revoke: tenant", err)
	}
	return nil
}

// runDurable runs a script; when replicas are configured it sends WAIT on the
// same connection right after it, so that an acknowledged revocation survives
// a failover. On Cluster the connection is the master of the keys' slot. On a
// replica shortfall it returns the script's reply and an error wrapping
// session.ErrUnavailable.
func (s *Store) runDurable(ctx context.Context, sc *redis.Script, keys []string, args ...any) ([]any, error) {
	if s.wait <= 0 {
		return sc.Run(ctx, s.rdb, keys, args...).Slice()
	}
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
		res := sc.EvalSha(ctx, pipe, keys, args...)
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
