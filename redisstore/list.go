package redisstore

import (
	"context"
	"errors"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// index is one sorted set a listing reads. Members of a tenant index are bare
// session ids of that tenant; members of a view (tenant == "") are "sid!T".
// A tenant index has a union index (ix ∪ hx, written with history on),
// which a repair of its stale members cleans too.
type index struct {
	key    string
	tenant string
	union  string
}

func (ix index) ref(member string) (tenantID, sid string, ok bool) {
	if ix.tenant != "" {
		return ix.tenant, member, true
	}
	return splitMember(member)
}

// repairRounds bounds how often a page is refilled after stale members were
// dropped from it.
const repairRounds = 3

// List returns one page of the active sessions matching f. Count and page cost
// O(log n + page) on a single index: the active members are exactly the ranks
// [0, count) in descending score order. A user's sessions across tenants are
// merged from that user's per-tenant indexes (a user has few sessions).
func (s *Store) List(ctx context.Context, f session.Filter, p session.Page) (session.PageResult, error) {
	if f.WithEnded && f.TenantID != "" && s.history > 0 {
		return s.listWithEnded(ctx, f, p)
	}
	idxs, err := s.indexes(ctx, f)
	if err != nil || len(idxs) == 0 {
		return session.PageResult{Items: []session.Session{}}, err
	}
	var res session.PageResult
	for round := 0; round < repairRounds; round++ {
		var stale int
		res, stale, err = s.listOnce(ctx, idxs, p)
		if err != nil || stale == 0 {
			return res, err
		}
	}
	return res, nil
}

// indexes picks the sorted sets that hold exactly the sessions of f.
func (s *Store) indexes(ctx context.Context, f session.Filter) ([]index, error) {
	switch {
	case f.TenantID != "":
		if ok, err := s.tenantInPartner(ctx, f.TenantID, f.PartnerID); err != nil || !ok {
			return nil, err
		}
		k := tenantKeys(f.TenantID)
		if f.UserID != "" {
			return []index{{key: k.user(f.UserID), tenant: f.TenantID, union: k.unionUser(f.UserID)}}, nil
		}
		return []index{{key: k.all(), tenant: f.TenantID, union: k.unionAll()}}, nil
	case f.UserID != "":
		tenants, err := s.userTenants(ctx, f.UserID, f.PartnerID)
		out := make([]index, 0, len(tenants))
		for _, t := range tenants {
			k := tenantKeys(t)
			out = append(out, index{key: k.user(f.UserID), tenant: t, union: k.unionUser(f.UserID)})
		}
		return out, err
	case f.PartnerID != "":
		return []index{{key: partnerViewKey(f.PartnerID)}}, nil
	default:
		return []index{{key: globalViewKey}}, nil
	}
}

// tenantInPartner reports whether the tenant belongs to the partner ("" = any).
func (s *Store) tenantInPartner(ctx context.Context, tenantID, partnerID string) (bool, error) {
	if partnerID == "" {
		return true, nil
	}
	p, err := s.TenantPartner(ctx, tenantID)
	return p == partnerID, err
}

// userTenants returns the tenants the user has sessions in, limited to the
// partner's tenants when partnerID is set.
func (s *Store) userTenants(ctx context.Context, userID, partnerID string) ([]string, error) {
	tenants, err := s.rdb.SMembers(ctx, userTenantsKey(userID)).Result()
	if err != nil {
		return nil, wrap("user tenants", err)
	}
	return s.filterTenants(ctx, tenants, partnerID)
}

// filterTenants keeps the tenants whose recorded partner is partnerID ("" = all).
func (s *Store) filterTenants(ctx context.Context, tenants []string, partnerID string) ([]string, error) {
	sort.Strings(tenants)
	if partnerID == "" || len(tenants) == 0 {
		return tenants, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(tenants))
	for i, t := range tenants {
		cmds[i] = pipe.Get(ctx, tenantKeys(t).partner())
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("tenant partners", err)
	}
	out := tenants[:0]
	for i, t := range tenants {
		if cmds[i].Val() == partnerID {
			out = append(out, t)
		}
	}
	return out, nil
}

type ranked struct {
	ix     index
	member string
	score  float64
}

// listOnce reads one page; stale counts members whose hash was gone (they are
// removed, and the caller reads the page again).
func (s *Store) listOnce(ctx context.Context, idxs []index, p session.Page) (session.PageResult, int, error) {
	nowArg := "(" + itoa(ms(s.now()))
	off := p.Offset()
	stop := off + int64(p.PerPage) - 1
	pipe := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(idxs))
	ranges := make([]*redis.ZSliceCmd, len(idxs))
	for i, ix := range idxs {
		counts[i] = pipe.ZCount(ctx, ix.key, nowArg, "+inf")
		start := off
		if len(idxs) > 1 {
			start = 0 // merged below
		}
		ranges[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: start, Stop: stop, Rev: true})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return session.PageResult{}, 0, wrap("list", err)
	}
	var total int64
	var all []ranked
	for i, ix := range idxs {
		n := counts[i].Val()
		total += n
		zs := ranges[i].Val()
		// Ranks at or past the count are expired members awaiting pruning.
		limit := n
		if len(idxs) == 1 {
			limit = n - off
		}
		for j, z := range zs {
			if int64(j) >= limit {
				break
			}
			m, _ := z.Member.(string)
			all = append(all, ranked{ix: ix, member: m, score: z.Score})
		}
	}
	if len(idxs) > 1 {
		sort.Slice(all, func(i, j int) bool {
			if all[i].score != all[j].score {
				return all[i].score > all[j].score
			}
			return all[i].member > all[j].member
		})
		if off >= int64(len(all)) {
			all = nil
		} else {
			all = all[off:min(int64(len(all)), off+int64(p.PerPage))]
		}
	}
	items, stale, err := s.load(ctx, all)
	return session.PageResult{Items: items, Total: total}, stale, err
}

// load reads the sessions behind index members in one pipeline and removes
// members whose session is gone, so that no listing shows them again.
func (s *Store) load(ctx context.Context, members []ranked) ([]session.Session, int, error) {
	items := make([]session.Session, 0, len(members))
	if len(members) == 0 {
		return items, 0, nil
	}
	// The sessions and, in the same round trip, the partner of each tenant
	// on the page, which is its sessions' partner.
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(members))
	partners := map[string]*redis.StringCmd{}
	for i, m := range members {
		t, sid, ok := m.ix.ref(m.member)
		if !ok {
			continue
		}
		cmds[i] = pipe.HGetAll(ctx, tenantKeys(t).session(sid))
		if partners[t] == nil {
			partners[t] = pipe.Get(ctx, tenantKeys(t).partner())
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, wrap("list: load", err)
	}
	for _, c := range cmds {
		if c != nil && c.Err() != nil {
			return nil, 0, wrap("list: load", c.Err())
		}
	}
	now := s.now()
	var stale []ranked
	for i, m := range members {
		var sess session.Session
		ok := false
		if cmds[i] != nil {
			t, sid, _ := m.ix.ref(m.member)
			sess, ok = decode(t, sid, cmds[i].Val())
			sess.PartnerID = partnerOf(partners[t].Val(), sess.PartnerID)
			ok = ok && sess.ExpiresAt.After(now)
		}
		if !ok {
			stale = append(stale, m)
			continue
		}
		items = append(items, sess)
	}
	if err := s.repair(ctx, stale); err != nil {
		return nil, 0, err
	}
	return items, len(stale), nil
}

// repair removes stale members: in tenant indexes only if the hash is still
// absent (atomically, in the tenant slot); views are secondary and the sweep
// re-adds a member removed by a race from the tenant's outbox.
func (s *Store) repair(ctx context.Context, stale []ranked) error {
	if len(stale) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, m := range stale {
		if m.ix.tenant == "" {
			pipe.ZRem(ctx, m.ix.key, m.member)
			continue
		}
		queueEval(ctx, pipe, repairCall{
			index: m.ix.key, union: m.ix.union, hashes: []string{tenantKeys(m.ix.tenant).session(m.member)}, ids: []string{m.member},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("list: repair", err)
	}
	return nil
}
