package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/config"
)

// The cross-tenant views, the global one and one per partner, hold a member
// "sid!T" per live session, scored by its expires_at. Kept in one sorted set
// each, a view sits on one Cluster master, which then takes every create's,
// touch's and revocation's view write and the view's whole memory. So each
// view is split into N shards: sorted sets whose hash tags sit in N slots
// spread evenly over the slot space, so that any cluster whose masters own
// equal slot ranges (as redis-cli --cluster create makes them) holds an
// equal share when N is a multiple of the masters. A member lives in the
// shard picked by a hash of its session id. A listing merges the shards
// (paging.go); a count is the sum of the shards' counts.
//
// N = 1 is the single-key layout: ix:{#g} and ix:{p:<P>}. With N > 1 those
// single keys are the views' legacy shard: still read and cleaned with the
// others (an instance of an older version may still write there), and
// emptied into the shards by Upgrade (the global view) and the sweep (each
// partner's). The layout the data has is recorded in vn:{#g}; a Store whose
// N differs from a recorded N > 1 refuses to run (ErrViewLayout), because
// members would sit in shards it does not read.

// ErrViewLayout is returned by Upgrade when the views are kept in a number
// of shards other than the Store's.
var ErrViewLayout = errors.New("redisstore: the views are split into another number of shards")

// slotCount is the number of Redis Cluster hash slots.
const slotCount = 16384

// The sweep's list of tenants, which every create writes, is split the same
// way: tn:{#g:<i>.<j>} beside the global view's shard i, a tenant in the
// shard picked by a hash of its id, and tn:{#g} its legacy key.

// viewLayout names the shards of the views and of the tenant list.
type viewLayout struct {
	n       int
	global  []string
	tenants []string

	mu       sync.Mutex
	partners map[string][]string
}

// partnerCacheMax bounds the partners whose shard names are kept.
const partnerCacheMax = 4096

func newViewLayout(n int) *viewLayout {
	if n <= 0 {
		n = config.DefaultClusterViewShards
	}
	v := &viewLayout{n: n, partners: map[string][]string{}}
	v.global = v.shardKeys("#g")
	for _, key := range v.global {
		v.tenants = append(v.tenants, "tn:"+strings.TrimPrefix(key, "ix:"))
	}
	return v
}

// tenantKey is the shard of the tenant list that holds the tenant.
func (v *viewLayout) tenantKey(tenantID string) string { return v.tenants[v.shardOf(tenantID)] }

// tenantLegacy is the single-key tenant list that N > 1 still reads and
// empties; "" when N is 1 (it is then the only shard).
func (v *viewLayout) tenantLegacy() string {
	if v.n == 1 {
		return ""
	}
	return tenantsKey
}

// tenantReadKeys are every key that may list a tenant: the shards, then the
// legacy key when there is one.
func (v *viewLayout) tenantReadKeys() []string {
	if l := v.tenantLegacy(); l != "" {
		return append(v.tenants[:v.n:v.n], l)
	}
	return v.tenants
}

// shardKeys names the n shards of the view whose single-key tag is {base}.
// Shard i's tag is {base:i.j}, with the smallest j that puts its slot in the
// middle half of the i-th n-th of the slot space. The result depends only on
// base and n, so every instance names the same keys.
func (v *viewLayout) shardKeys(base string) []string {
	if v.n == 1 {
		return []string{"ix:{" + base + "}"}
	}
	keys := make([]string, v.n)
	width := slotCount / v.n
	for i := range keys {
		lo := i*slotCount/v.n + width/4
		for j := 0; ; j++ {
			tag := base + ":" + strconv.Itoa(i) + "." + strconv.Itoa(j)
			if slot := int(crc16(tag) % slotCount); slot >= lo && slot < lo+width/2 {
				keys[i] = "ix:{" + tag + "}"
				break
			}
		}
	}
	return keys
}

// shards returns the shards of the global view (partnerID "") or of the
// partner's.
func (v *viewLayout) shards(partnerID string) []string {
	if partnerID == "" {
		return v.global
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if keys, ok := v.partners[partnerID]; ok {
		return keys
	}
	if len(v.partners) >= partnerCacheMax {
		clear(v.partners)
	}
	keys := v.shardKeys("p:" + partnerID)
	v.partners[partnerID] = keys
	return keys
}

// legacy is the single-key view that N > 1 still reads and cleans; "" when
// N is 1 (the single key is then the only shard).
func (v *viewLayout) legacy(partnerID string) string {
	switch {
	case v.n == 1:
		return ""
	case partnerID == "":
		return globalViewKey
	}
	return partnerViewKey(partnerID)
}

// shardOf is the shard index of a session or a tenant.
func (v *viewLayout) shardOf(id string) int {
	if v.n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(v.n))
}

// key is the shard of the view that holds the session's member.
func (v *viewLayout) key(partnerID, sid string) string {
	return v.shards(partnerID)[v.shardOf(sid)]
}

// readKeys are every key that may hold a member of the view: the shards,
// then the legacy key when there is one.
func (v *viewLayout) readKeys(partnerID string) []string {
	keys := v.shards(partnerID)
	if l := v.legacy(partnerID); l != "" {
		return append(keys[:len(keys):len(keys)], l)
	}
	return keys
}

// bySession groups view members by the shard that holds them.
func (v *viewLayout) bySession(partnerID, tenantID string, sids []string) map[string][]any {
	out := map[string][]any{}
	for _, sid := range sids {
		k := v.key(partnerID, sid)
		out[k] = append(out[k], viewMember(tenantID, sid))
	}
	return out
}

// queueRemove queues the removal of sessions' members from a view: from
// their shards, and from the legacy key.
func (v *viewLayout) queueRemove(ctx context.Context, pipe redis.Pipeliner, partnerID, tenantID string, sids []string) []redis.Cmder {
	var cmds []redis.Cmder
	for key, members := range v.bySession(partnerID, tenantID, sids) {
		cmds = append(cmds, pipe.ZRem(ctx, key, members...))
	}
	if c := v.queueRemoveLegacy(ctx, pipe, partnerID, tenantID, sids); c != nil {
		cmds = append(cmds, c)
	}
	return cmds
}

// queueRemoveLegacy queues the removal of sessions' members from the view's
// legacy key; nil when there is none (or no session).
func (v *viewLayout) queueRemoveLegacy(ctx context.Context, pipe redis.Pipeliner, partnerID, tenantID string, sids []string) redis.Cmder {
	l := v.legacy(partnerID)
	if l == "" || len(sids) == 0 {
		return nil
	}
	members := make([]any, len(sids))
	for i, sid := range sids {
		members[i] = viewMember(tenantID, sid)
	}
	return pipe.ZRem(ctx, l, members...)
}

// crc16 is the CRC16-CCITT (XMODEM) checksum Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// claimViewLayout records the Store's N in vn:{#g}, or checks it against the
// one recorded: the single-key layout (1, or nothing recorded) upgrades to
// any N; a recorded N > 1 must be the Store's.
func (s *Store) claimViewLayout(ctx context.Context) error {
	want := strconv.Itoa(s.views.n)
	got, err := s.rdb.Get(ctx, viewLayoutKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap("views: layout", err)
	}
	switch {
	case got == want:
		return nil
	case got == "" || got == "1":
		// SET GET answers what it replaced: another instance may have
		// recorded its N meanwhile.
		prev, err := s.rdb.SetArgs(ctx, viewLayoutKey, want, redis.SetArgs{Get: true}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return wrap("views: layout", err)
		}
		if prev == "" || prev == "1" || prev == want {
			return nil
		}
		got = prev
		s.rdb.Set(ctx, viewLayoutKey, prev, 0)
	}
	return fmt.Errorf("%w: the data is in %s shards, this instance has %s=%d; set it to %s",
		ErrViewLayout, got, config.EnvViewShards, s.views.n, got)
}

// movePartnerViews empties the legacy single-key views of the given
// partners into their shards (N > 1).
func (s *Store) movePartnerViews(ctx context.Context, partners []string) (int, error) {
	if s.views.n == 1 || len(partners) == 0 {
		return 0, nil
	}
	pipe := s.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(partners))
	for i, p := range partners {
		exists[i] = pipe.Exists(ctx, s.views.legacy(p))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("views: legacy partner views", err)
	}
	n := 0
	for i, p := range partners {
		if exists[i].Val() == 0 {
			continue
		}
		moved, err := s.moveZSet(ctx, s.views.legacy(p), s.viewShardOfMember(p))
		n += moved
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// viewShardOfMember maps a view member to its shard; a malformed member
// goes to the first shard, where listings drop it as stale.
func (s *Store) viewShardOfMember(partnerID string) func(member string) string {
	return func(member string) string {
		_, sid, _ := splitMember(member)
		return s.views.key(partnerID, sid)
	}
}
