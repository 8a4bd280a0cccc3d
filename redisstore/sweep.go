package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// outboxGrace leaves recent outbox entries to the request that wrote them;
// the sweep reconciles only older ones.
const outboxGrace = 10 * time.Second

// SweepResult counts what one sweep did.
type SweepResult struct {
	Tenants    int
	Skipped    int   // tenants another instance swept within the lock period
	Pruned     int64 // expired members removed from tenant indexes and views
	Reconciled int   // outbox entries applied to the views
	Upgraded   int   // members and events moved from legacy keys (Upgrade)
}

// Sweep prunes expired members from every tenant's indexes and from the
// views, and applies each tenant's outbox to the views, so that the partner
// and global views converge on the tenant indexes even after a crash between
// a tenant step and its view step. It visits tenants in batches; its cost is
// proportional to what expired or changed, not to the number of sessions.
func (s *Store) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var full error // a step that adds data failed for lack of memory
	up, err := s.Upgrade(ctx)
	res.Upgraded = up.Tenants + up.Views + up.Events
	if errors.Is(err, session.ErrStoreFull) {
		full = err
	} else if err != nil {
		return res, err
	}
	nowMS := ms(s.now())
	pipe := s.rdb.Pipeline()
	for _, key := range s.views.tenantReadKeys() {
		pipe.ZRemRangeByScore(ctx, key, "-inf", itoa(nowMS))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return res, wrap("sweep: tenants", err)
	}
	partners := map[string]bool{}
	for _, key := range s.views.tenantReadKeys() {
		if err := s.sweepTenantList(ctx, key, nowMS, &res, partners, &full); err != nil {
			return res, err
		}
	}
	global, err := s.sweepLock(ctx, globalSweepLockKey)
	if err != nil {
		return res, err
	}
	pipe = s.rdb.Pipeline()
	var cmds []*redis.IntCmd
	var views []string
	if global {
		views = s.views.readKeys("")
	}
	ps := make([]string, 0, len(partners))
	for p := range partners {
		ps = append(ps, p)
		views = append(views, s.views.readKeys(p)...)
	}
	for _, view := range views {
		cmds = append(cmds, pipe.ZRemRangeByScore(ctx, view, "-inf", itoa(nowMS)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return res, wrap("sweep: views", err)
	}
	for _, c := range cmds {
		res.Pruned += c.Val()
	}
	moved, err := s.movePartnerViews(ctx, ps)
	res.Upgraded += moved
	if errors.Is(err, session.ErrStoreFull) {
		full = err
	} else if err != nil {
		return res, err
	}
	return res, full
}

// sweepTenantList sweeps the tenants of one key of the tenant list, 500 at
// a time, adding to res and noting their partners.
func (s *Store) sweepTenantList(ctx context.Context, key string, nowMS int64, res *SweepResult, partners map[string]bool, full *error) error {
	for off := int64(0); ; off += 500 {
		tenants, err := s.rdb.ZRangeWithScores(ctx, key, off, off+499).Result()
		if err != nil {
			return wrap("sweep: tenants", err)
		}
		for _, t := range tenants {
			id, _ := t.Member.(string)
			mine, err := s.sweepLock(ctx, tenantKeys(id).sweepLock())
			if err != nil {
				return err
			}
			if !mine {
				res.Skipped++
				continue
			}
			p, pruned, n, err := s.sweepTenant(ctx, id, int64(t.Score), nowMS)
			if errors.Is(err, session.ErrStoreFull) {
				// What adds data waits for memory; what frees it went on.
				*full = err
			} else if err != nil {
				return err
			}
			res.Tenants++
			res.Pruned += pruned
			res.Reconciled += n
			if p != "" {
				partners[p] = true
			}
		}
		if len(tenants) < 500 {
			break
		}
	}
	return nil
}

// sweepLock takes a sweep lock for the lock period: the instance that gets
// it sweeps, the others skip, so N instances do not repeat each other's work.
// The lock is not released: it expires, and whoever comes next sweeps again.
// It is taken by a script that runs when Redis is full (sweep_lock.lua):
// the sweep frees memory.
func (s *Store) sweepLock(ctx context.Context, key string) (bool, error) {
	n, err := run(ctx, s.rdb, sweepLockCall{lock: key, periodMS: s.lockTTL.Milliseconds()}).Int64()
	if err != nil {
		return false, wrap("sweep: lock", err)
	}
	return n == 1, nil
}

// sweepTenant prunes one tenant's indexes, finishes an adoption a crash left
// behind and reconciles its outbox.
//
// When Redis is full (session.ErrStoreFull), the steps that free memory or
// finish revocations still run; those that add data (the partner's tenant
// set, the views' outbox) wait for the next sweep, and the error says so.
func (s *Store) sweepTenant(ctx context.Context, tenantID string, latestMS, nowMS int64) (partner string, pruned int64, reconciled int, err error) {
	k := tenantKeys(tenantID)
	var full error
	pipe := s.rdb.Pipeline()
	pcmd := pipe.Get(ctx, k.partner())
	acmd := pipe.Get(ctx, k.adoption())
	var cmds []*redis.IntCmd
	var expired *redis.Cmd
	if s.history > 0 {
		// The expired members leave the union index with ix all
		// (list_history.lua): one script, EVAL since the pipeline cannot
		// retry a NOSCRIPT.
		expired = queueEval(ctx, pipe, pruneExpiredCall{index: k.all(), union: k.unionAll(), nowMS: nowMS})
	} else {
		cmds = append(cmds, pipe.ZRemRangeByScore(ctx, k.all(), "-inf", itoa(nowMS)))
	}
	for _, d := range session.DeviceTypes {
		cmds = append(cmds, pipe.ZRemRangeByScore(ctx, k.device(d), "-inf", itoa(nowMS)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, 0, wrap("sweep: prune", err)
	}
	partner = pcmd.Val()
	for _, c := range cmds {
		pruned += c.Val()
	}
	if expired != nil {
		n, _ := expired.Int64()
		pruned += n
	}
	n, err := s.pruneUsers(ctx, k, nowMS)
	pruned += n
	if err != nil {
		return partner, pruned, 0, err
	}
	if p := acmd.Val(); p != "" {
		// A create gave the tenant its partner and stopped before the
		// tenant's earlier sessions were all in the partner's view.
		if _, err := s.adopt(ctx, tenantID, p); err != nil {
			return partner, pruned, 0, err
		}
	}
	if partner != "" {
		// Re-assert membership in the partner's tenant set: a session that
		// inherited the partner may outlive the set's last extension.
		pipe := s.rdb.Pipeline()
		pipe.SAdd(ctx, partnerTenantsKey(partner), tenantID)
		expireAtLeast(ctx, pipe, partnerTenantsKey(partner), latestMS)
		if _, err := pipe.Exec(ctx); err != nil {
			if err = wrap("sweep: partner tenants", err); !errors.Is(err, session.ErrStoreFull) {
				return partner, pruned, 0, err
			}
			full = err
		}
	}
	reconciled, err = s.reconcileOutbox(ctx, tenantID, partner, nowMS)
	if err != nil && !errors.Is(err, session.ErrStoreFull) {
		return partner, pruned, reconciled, err
	}
	full = errors.Join(full, err)
	// Revoked batches whose events a crash or a lost reply left unwritten:
	// relayed also when Redis is full, as the revocation itself would be.
	relayed, err := s.relayRevocations(ctx, tenantID, nowMS)
	return partner, pruned, reconciled + relayed, errors.Join(full, err)
}

// pruneUsers prunes the user indexes of the users whose sessions have all
// expired (their latest expiry in ix users has passed), a batch of users per
// script call, and drops them from ix users: the cost is proportional to the
// users that expired. Users with live sessions keep the expired members of
// their index until their next login or a revocation of theirs prunes it, or the index's own expiry (the latest absolute expiry of the user's
// sessions) removes it: those are at most the sessions the user had live at
// the last login, and finding them here would need a per-user record of the
// earliest expiry (one more zset entry per user).
func (s *Store) pruneUsers(ctx context.Context, k keys, nowMS int64) (int64, error) {
	var total int64
	for {
		uids, err := s.rdb.ZRangeByScore(ctx, k.users(), &redis.ZRangeBy{Min: "-inf", Max: itoa(nowMS), Count: int64(s.batch)}).Result()
		if err != nil {
			return total, wrap("sweep: expired users", err)
		}
		if len(uids) == 0 {
			return total, nil
		}
		call := pruneUsersCall{users: k.users(), nowMS: nowMS, userIDs: uids}
		for _, u := range uids {
			call.userIdx = append(call.userIdx, k.user(u))
			if s.history > 0 {
				call.userUnion = append(call.userUnion, k.unionUser(u))
			}
		}
		n, err := run(ctx, s.rdb, call).Int64()
		total += n
		if err != nil {
			return total, wrap("sweep: prune users", err)
		}
		if len(uids) < s.batch {
			return total, nil
		}
	}
}

// reconcileOutbox applies the tenant's outbox entries older than the grace
// period to the views: live sessions are (re)added with their current expiry,
// gone ones removed.
func (s *Store) reconcileOutbox(ctx context.Context, tenantID, partner string, nowMS int64) (int, error) {
	k := tenantKeys(tenantID)
	cutoff := nowMS - outboxGrace.Milliseconds()
	total := 0
	for {
		sids, err := s.rdb.ZRangeByScore(ctx, k.outbox(), &redis.ZRangeBy{Min: "-inf", Max: itoa(cutoff), Count: int64(s.batch)}).Result()
		if err != nil {
			return total, wrap("sweep: outbox", err)
		}
		if len(sids) == 0 {
			return total, nil
		}
		pipe := s.rdb.Pipeline()
		exps := make([]*redis.SliceCmd, len(sids))
		for i, sid := range sids {
			exps[i] = pipe.HMGet(ctx, k.session(sid), fExpires, fAbsExpires)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return total, wrap("sweep: outbox sessions", err)
		}
		pipe = s.rdb.Pipeline()
		for i, sid := range sids {
			v := exps[i].Val()
			e, _ := v[0].(string)
			a, _ := v[1].(string)
			if e != "" && atoi(e) > nowMS {
				// A member a legacy key still holds moves to its shard.
				s.views.queueRemoveLegacy(ctx, pipe, "", tenantID, []string{sid})
				if partner != "" {
					s.views.queueRemoveLegacy(ctx, pipe, partner, tenantID, []string{sid})
				}
				s.addToViews(ctx, pipe, tenantID, partner, sid, atoi(e), max(atoi(a), atoi(e)), true)
				continue
			}
			s.views.queueRemove(ctx, pipe, "", tenantID, []string{sid})
			if partner != "" {
				s.views.queueRemove(ctx, pipe, partner, tenantID, []string{sid})
			}
		}
		outboxDone(ctx, pipe, k, cutoff, sids...)
		if _, err := pipe.Exec(ctx); err != nil {
			return total, wrap("sweep: outbox apply", err)
		}
		total += len(sids)
		if len(sids) < s.batch {
			return total, nil
		}
	}
}

// sleepCtx waits d, or until ctx ends and then returns its error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RunSweeper sweeps every interval, jittered by ±20% so that several
// instances drift apart, until ctx ends. Errors are reported to onErr.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration, onDone func(SweepResult, error)) {
	for {
		jitter := time.Duration(rand.Int64N(int64(interval)*2/5+1)) - interval/5
		if sleepCtx(ctx, interval+jitter) != nil {
			return
		}
		res, err := s.Sweep(ctx)
		if onDone != nil {
			onDone(res, err)
		}
	}
}
