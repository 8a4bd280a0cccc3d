package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// Revoke removes the sessions r selects, tenant by tenant, in batches of at
// most RevokeBatch sessions per script call, so that no call blocks Redis for
// long and no batch costs a round trip per session. Each batch is atomic in
// the tenant slot; the cross-tenant views and id pointers are cleaned right
// after it (the tenant's outbox lets the sweep finish that if we crash).
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

// revokeInTenant revokes the sessions of one tenant that r selects.
func (s *Store) revokeInTenant(ctx context.Context, tenantID, userID string, r session.Revocation) ([]session.Revoked, error) {
	partnerID, err := s.TenantPartner(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	k := tenantKeys(tenantID)
	now := s.now()
	keys := []string{k.all(), k.users(), k.revoked(now), k.outbox()}
	base := []any{k.tag, ms(now), int(counterTTL.Seconds()), userID, r.ExceptID}
	var out []session.Revoked
	run := func(args ...any) (examined, kept int64, err error) {
		res, durErr := s.runDurable(ctx, revokeScript, keys, append(append([]any{}, base...), args...)...)
		if res == nil {
			return 0, 0, wrap("revoke", durErr)
		}
		if len(res) < 2 {
			return 0, 0, fmt.Errorf("redisstore: revoke: short reply %d", len(res))
		}
		examined, _ = res[0].(int64)
		kept, _ = res[1].(int64)
		batch := make([]session.Revoked, 0, (len(res)-2)/3)
		for i := 2; i+2 < len(res); i += 3 {
			sid, _ := res[i].(string)
			uid, _ := res[i+1].(string)
			batch = append(batch, session.Revoked{ID: sid, UserID: uid, TenantID: tenantID, PartnerID: partnerID})
		}
		out = append(out, batch...)
		// The batch is revoked on the primary even when too few replicas
		// acknowledged it: its views, pointers and events still follow, then
		// the shortfall is reported.
		if err := s.cleanupViews(ctx, k, now, tenantID, partnerID, batch, r); err != nil {
			return examined, kept, err
		}
		return examined, kept, wrap("revoke", durErr)
	}

	if len(r.IDs) > 0 {
		for start := 0; start < len(r.IDs); start += s.batch {
			ids := r.IDs[start:min(len(r.IDs), start+s.batch)]
			args := make([]any, 0, len(ids)+1)
			args = append(args, "ids")
			for _, id := range ids {
				args = append(args, id)
			}
			if _, _, err := run(args...); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	src := k.all()
	if userID != "" {
		src = k.user(userID)
	}
	for offset := int64(0); ; {
		examined, kept, err := run("idx", src, offset, s.batch)
		if err != nil {
			return out, err
		}
		offset += kept
		if examined < int64(s.batch) {
			return out, nil
		}
	}
}

// cleanupViews removes revoked sessions from the cross-tenant views, drops
// their id pointers and appends their revocation events, in one pipeline.
func (s *Store) cleanupViews(ctx context.Context, k keys, now time.Time, tenantID, partnerID string, revoked []session.Revoked, r session.Revocation) error {
	if len(revoked) == 0 {
		return nil
	}
	members := make([]any, len(revoked))
	sids := make([]string, len(revoked))
	pipe := s.rdb.Pipeline()
	for i, r := range revoked {
		members[i] = viewMember(tenantID, r.ID)
		sids[i] = r.ID
		pipe.Del(ctx, pointerKey(r.ID))
	}
	s.appendEvents(ctx, pipe, revoked, now, r.Reason, r.Actor)
	outboxDone(ctx, pipe, k, ms(now), sids...)
	pipe.ZRem(ctx, globalViewKey, members...)
	if partnerID != "" {
		pipe.ZRem(ctx, partnerViewKey(partnerID), members...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("revoke: views", err)
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
		if n < int64(s.wait) {
			return out, fmt.Errorf("%d of %d replicas acknowledged: %w", n, s.wait, session.ErrUnavailable)
		}
		return out, nil
	}
}
