package redisstore

import (
	"context"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A page of the union of several sorted sets (a view's shards, or a user's
// indexes in several tenants), in the order of ZRANGE REV on one set: score
// descending, then member descending. Only members scored above now count.
//
// Reading the first off+size members of every set costs O(depth). Instead,
// a deep page is found around a pivot score x, with one more round trip:
//
//  1. counts, and from each set the score at its share of off (by the
//     sizes the last listing of these sets counted; off/N before any), about
//     where the page starts when the sets interleave evenly (a view's shards
//     do: a session's shard is a hash of its id); x is the median of those
//     scores, weighted by the sizes;
//  2. from each set, the number of members above x and the K members on
//     each side of x. Each set's window is then a known run of its ranks,
//     so every member that lies inside all windows has a known rank in the
//     union: if the page is among them, it is found;
//  3. else (the sets were not even, or the median strayed), the exact
//     distance d from x to the page start is known by now, and one read of
//     each set's ranks around x, |d| + size wide, holds the page.
//
// So a page at any depth costs two or three round trips of O(N · (log n + K))
// work, K about (size + √off)/N (1.5·√off without known sizes), and the
// total is exact.

// window is a run of one set's members in descending order, starting at
// rank start; below is true when no member of the set follows the run.
type window struct {
	ix    index
	start int64
	elems []ranked
	below bool
}

// shallowPage is how deep a page is still read from the top of each set.
func shallowPage(off, size int64) bool { return off+size <= max(3*size, 64) }

// pageAcross returns the members of the page [off, off+size) of the union of
// idxs and the union's size.
func (s *Store) pageAcross(ctx context.Context, idxs []index, nowMS, off, size int64) ([]ranked, int64, error) {
	now := "(" + itoa(nowMS)
	shallow := shallowPage(off, size)
	// The sets' sizes at the last listing of this view, if any: probing
	// each at its share of off removes the error of assuming them even.
	known := s.sizes.get(idxs)
	ranks, weights := probeRanks(idxs, known, off)
	pipe := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(idxs))
	probes := make([]*redis.ZSliceCmd, len(idxs))
	for i, ix := range idxs {
		counts[i] = pipe.ZCount(ctx, ix.key, now, "+inf")
		if shallow {
			probes[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: 0, Stop: off + size - 1, Rev: true})
		} else if weights[i] > 0 {
			probes[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: ranks[i], Stop: ranks[i], Rev: true})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, wrap("list", err)
	}
	n := make([]int64, len(idxs))
	var total int64
	for i, c := range counts {
		n[i] = c.Val()
		total += n[i]
	}
	s.sizes.put(idxs, n)
	if off >= total {
		return nil, total, nil
	}
	if shallow {
		ws := make([]window, len(idxs))
		for i, ix := range idxs {
			ws[i] = rankWindow(ix, 0, probes[i].Val(), n[i])
		}
		page, _ := pageOf(ws, off, size, total)
		s.traced("top")
		return page, total, nil
	}
	x, ok := pivot(probes, weights, nowMS)
	if !ok {
		var err error
		if x, err = s.sizedPivot(ctx, idxs, n, off, nowMS); err != nil {
			return nil, 0, err
		}
	}
	// The pivot's rank strays from off by about √off/√N (a median of N
	// probes, each off by about √off), and more when the sizes were guessed.
	spread := 1.0
	if known == nil {
		spread = 1.5
	}
	sets := int64(len(idxs))
	k := int64(math.Ceil((float64(size)+spread*math.Sqrt(float64(off)))/float64(sets))) + 6
	ws, above, err := s.scoreWindows(ctx, idxs, n, x, k, now)
	if err != nil {
		return nil, 0, err
	}
	if page, ok := pageOf(ws, off, size, total); ok {
		s.traced("pivot")
		return page, total, nil
	}
	ws, err = s.exactWindows(ctx, idxs, n, above, off, size)
	if err != nil {
		return nil, 0, err
	}
	page, _ := pageOf(ws, off, size, total)
	s.traced("exact")
	return page, total, nil
}

// probeRanks are the ranks at which each set is probed for a page at off,
// and each probe's weight (0: no probe): a set's share of off by the known
// sizes, or, without them, off/N in every set but a legacy key (which holds
// few, or all).
func probeRanks(idxs []index, known []int64, off int64) (ranks, weights []int64) {
	ranks, weights = make([]int64, len(idxs)), make([]int64, len(idxs))
	if known != nil {
		var sum int64
		for _, n := range known {
			sum += n
		}
		for i, n := range known {
			if n > 0 {
				ranks[i], weights[i] = off*n/sum, n
			}
		}
		return ranks, weights
	}
	regular := int64(0)
	for _, ix := range idxs {
		if !ix.legacy {
			regular++
		}
	}
	for i, ix := range idxs {
		if !ix.legacy {
			ranks[i], weights[i] = off/regular, 1
		}
	}
	return ranks, weights
}

// traced tells a test which way a page was found.
func (s *Store) traced(path string) {
	if s.tracePaging != nil {
		s.tracePaging(path)
	}
}

// pivot is the median, weighted, of the probed scores that are live, if
// the probes that found one weigh at least half of all probes.
func pivot(probes []*redis.ZSliceCmd, weights []int64, nowMS int64) (float64, bool) {
	type probe struct {
		score  float64
		weight int64
	}
	var ps []probe
	var asked, found int64
	for i, p := range probes {
		if p == nil {
			continue
		}
		asked += weights[i]
		if zs := p.Val(); len(zs) > 0 && zs[0].Score > float64(nowMS) {
			ps = append(ps, probe{zs[0].Score, weights[i]})
			found += weights[i]
		}
	}
	if len(ps) == 0 || 2*found < asked {
		return 0, false
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].score < ps[j].score })
	acc := int64(0)
	for _, p := range ps {
		if acc += p.weight; 2*acc >= found {
			return p.score, true
		}
	}
	return ps[len(ps)-1].score, true
}

// sizedPivot probes each set at its share of off by the sizes just counted:
// for sets of very different sizes when none were known.
func (s *Store) sizedPivot(ctx context.Context, idxs []index, n []int64, off, nowMS int64) (float64, error) {
	ranks, weights := probeRanks(idxs, n, off)
	pipe := s.rdb.Pipeline()
	probes := make([]*redis.ZSliceCmd, len(idxs))
	for i, ix := range idxs {
		if weights[i] > 0 {
			probes[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: ranks[i], Stop: ranks[i], Rev: true})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("list: probe", err)
	}
	if x, ok := pivot(probes, weights, nowMS); ok {
		return x, nil
	}
	return float64(nowMS), nil // nothing live: any pivot gives the exact read
}

// sizeCache keeps the sets' sizes of the last listing of each view (keyed
// by its first set), for the next listing's probes.
type sizeCache struct {
	mu sync.Mutex
	m  map[string][]int64
}

// sizeCacheMax bounds the views whose sizes are kept.
const sizeCacheMax = 4096

func (c *sizeCache) get(idxs []index) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.m[idxs[0].key]; len(n) == len(idxs) {
		return n
	}
	return nil
}

func (c *sizeCache) put(idxs []index, n []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= sizeCacheMax {
		c.m = map[string][]int64{}
	}
	c.m[idxs[0].key] = n
}

// scoreWindows reads, from each set, how many members score above x and the
// k members on each side of x; above[i] is that count.
func (s *Store) scoreWindows(ctx context.Context, idxs []index, n []int64, x float64, k int64, now string) ([]window, []int64, error) {
	xs := strconv.FormatFloat(x, 'f', -1, 64)
	pipe := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(idxs))
	ups := make([]*redis.ZSliceCmd, len(idxs))
	downs := make([]*redis.ZSliceCmd, len(idxs))
	for i, ix := range idxs {
		if n[i] == 0 {
			continue
		}
		counts[i] = pipe.ZCount(ctx, ix.key, "("+xs, "+inf")
		ups[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: "(" + xs, Stop: "+inf", ByScore: true, Count: k})
		downs[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: xs, Stop: now, ByScore: true, Rev: true, Count: k})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, wrap("list: windows", err)
	}
	ws := make([]window, len(idxs))
	above := make([]int64, len(idxs))
	for i, ix := range idxs {
		if n[i] == 0 {
			ws[i] = window{ix: ix, below: true}
			continue
		}
		above[i] = counts[i].Val()
		up := ups[i].Val()
		down := downs[i].Val()
		w := window{ix: ix, start: above[i] - int64(len(up)), below: int64(len(down)) < k}
		for j := len(up) - 1; j >= 0; j-- {
			w.elems = append(w.elems, rankedOf(ix, up[j]))
		}
		for _, z := range down {
			w.elems = append(w.elems, rankedOf(ix, z))
		}
		ws[i] = w
	}
	return ws, above, nil
}

// exactWindows reads from each set the ranks that hold the page for sure:
// from one above the page's share of the members above x (or x itself) to
// size below them.
func (s *Store) exactWindows(ctx context.Context, idxs []index, n, above []int64, off, size int64) ([]window, error) {
	var ab int64
	for _, a := range above {
		ab += a
	}
	d := off - ab
	pipe := s.rdb.Pipeline()
	reads := make([]*redis.ZSliceCmd, len(idxs))
	starts := make([]int64, len(idxs))
	for i, ix := range idxs {
		starts[i] = max(0, above[i]+min(d, 0)-1)
		stop := min(above[i]+max(d, 0)+size, n[i]) - 1
		if stop >= starts[i] {
			reads[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: ix.key, Start: starts[i], Stop: stop, Rev: true})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap("list: ranks", err)
	}
	ws := make([]window, len(idxs))
	for i, ix := range idxs {
		var zs []redis.Z
		if reads[i] != nil {
			zs = reads[i].Val()
		}
		ws[i] = rankWindow(ix, starts[i], zs, n[i])
	}
	return ws, nil
}

// rankWindow is the window of members read from rank start on, cut at the
// set's count n (what follows is expired).
func rankWindow(ix index, start int64, zs []redis.Z, n int64) window {
	w := window{ix: ix, start: start}
	for _, z := range zs {
		if start+int64(len(w.elems)) >= n {
			break
		}
		w.elems = append(w.elems, rankedOf(ix, z))
	}
	w.below = start+int64(len(w.elems)) >= n
	return w
}

func rankedOf(ix index, z redis.Z) ranked {
	m, _ := z.Member.(string)
	return ranked{ix: ix, member: m, score: z.Score}
}

// before is the listing order: score, then member, both descending.
func before(a, b ranked) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.member > b.member
}

// item is a member of a window in the merge, with the window's index.
type item struct {
	r ranked
	w int
}

// merge merges the windows, each in order, into one list in order.
func merge(ws []window) []item {
	total := 0
	for _, w := range ws {
		total += len(w.elems)
	}
	out := make([]item, 0, total)
	heads := make([]int, len(ws))
	for len(out) < total {
		best := -1
		for i, w := range ws {
			if heads[i] < len(w.elems) && (best < 0 || before(w.elems[heads[i]], ws[best].elems[heads[best]])) {
				best = i
			}
		}
		out = append(out, item{ws[best].elems[heads[best]], best})
		heads[best]++
	}
	return out
}

// pageOf finds the page [off, off+size) (cut at total) among the windows'
// members, if their ranks in the union are known there. Merged in order,
// a member at or after every window's first member (of the windows that do
// not start at rank 0) and at or before every window's last (of the
// windows that do not reach their set's end) has every set's members before
// it either before the set's window or in it: its rank is the sum of the
// windows' starts plus its position in the merge.
func pageOf(ws []window, off, size, total int64) ([]ranked, bool) {
	var starts int64
	for _, w := range ws {
		if w.start > 0 && len(w.elems) == 0 {
			return nil, false // read apart from its count while written
		}
		starts += w.start
	}
	merged := merge(ws)
	first := make([]int, len(ws))
	last := make([]int, len(ws))
	for i := range ws {
		first[i], last[i] = -1, -1
	}
	for p, it := range merged {
		if first[it.w] < 0 {
			first[it.w] = p
		}
		last[it.w] = p
	}
	lo, hi := 0, len(merged)-1
	for i, w := range ws {
		if w.start > 0 {
			lo = max(lo, first[i])
		}
		if !w.below {
			hi = min(hi, last[i])
		}
	}
	end := min(off+size, total)
	r0 := starts + int64(lo)
	if r0 > off || r0+int64(hi-lo+1) < end {
		return nil, false
	}
	page := make([]ranked, 0, end-off)
	for _, it := range merged[lo+int(off-r0) : lo+int(end-r0)] {
		page = append(page, it.r)
	}
	return page, true
}
