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
// which a repair of its stale members cleans too. A legacy index is a
// view's single key while the view is split into shards (views.go).
type index struct {
	key    string
	tenant string
	union  string
	legacy bool
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
	default:
		return s.viewIndexes(f.PartnerID), nil
	}
}

// viewIndexes are the shards of the partner's view ("" = the global view),
// and its legacy key while there is one.
func (s *Store) viewIndexes(partnerID string) []index {
	out := make([]index, 0, s.views.n+1)
	for _, key := range s.views.shards(partnerID) {
		out = append(out, index{key: key})
	}
	if l := s.views.legacy(partnerID); l != "" {
		out = append(out, index{key: l, legacy: true})
	}
	return out
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
	nowMS := ms(s.now())
	off, size := p.Offset(), int64(p.PerPage)
	var page []ranked
	var total int64
	var err error
	if len(idxs) == 1 {
		page, total, err = s.pageOne(ctx, idxs[0], nowMS, off, size)
	} else {
		page, total, err = s.pageAcross(ctx, idxs, nowMS, off, size)
	}
	if err != nil {
		return session.PageResult{}, 0, err
	}
	items, stale, err := s.load(ctx, page)
	return session.PageResult{Items: items, Total: total}, stale, err
}

// pageOne reads a page of one index: the active members are exactly the
// ranks [0, count) in descending score order.
func (s *Store) pageOne(ctx context.Context, ix index, nowMS, off, size int64) ([]ranked, int64, error) {
	pipe := s.rdb.Pipeline()
	count := pipe.ZCount(ctx, ix.key, "("+itoa(nowMS), "+inf")
	zs := pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: off, Stop: off + size - 1, Rev: true})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, wrap("list", err)
	}
	w := rankWindow(ix, off, zs.Val(), count.Val())
	return w.elems, count.Val(), nil
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
