// Command viewbench measures the cross-tenant views (the global one and one
// per partner) on a real Redis Cluster of 3 masters, for each number of view
// shards asked for (redisstore.Options.ViewShards; 1 is the single-key
// layout). Per shard count it flushes the cluster, creates the sessions of
// many tenants through redisstore.Store.Create, and reports per master the
// memory, commands and keys the seeding added and the max/min ratios (aim
// ≤ 1.1); then it times the admin listing at page 1 and deep, globally and
// for one partner (aim: deep within 2× of page 1). It is run by hand, never
// by the test suite:
//
//	go run ./bench/viewbench -sessions 200000 -tenants 1000 -shards 1,12 -out view.md
//
// Commands are the calls in INFO commandstats minus housekeeping (INFO,
// replication, CLUSTER, ...: replicas' acknowledgements and the tool's and
// the client's polling). They include the commands scripts run, as
// total_commands_processed does on Redis 7.0, so a create's script weighs
// by the work it does on its master.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/internal/testtopology"
	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
)

type config struct {
	shards                               string
	sessions, tenants, partners, perUser int
	workers, depth, reps, perPage        int
	out                                  string
	timeout                              time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.shards, "shards", "1,12", "comma list of view shard counts to measure (1 = single-key layout)")
	flag.IntVar(&c.sessions, "sessions", 200000, "sessions seeded")
	flag.IntVar(&c.tenants, "tenants", 1000, "tenants the sessions are spread over (round robin)")
	flag.IntVar(&c.partners, "partners", 20, "partners the tenants are grouped under (tenant k under partner k mod partners)")
	flag.IntVar(&c.perUser, "per-user", 4, "sessions per user within a tenant")
	flag.IntVar(&c.workers, "workers", 32, "concurrent creators")
	flag.IntVar(&c.depth, "depth", 50000, "offset of the deep page of the global listing")
	flag.IntVar(&c.reps, "reps", 200, "timed listings of each page")
	flag.IntVar(&c.perPage, "per-page", 20, "page size (the API's default per_page)")
	flag.StringVar(&c.out, "out", "", "also write the report to this file")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	flag.Parse()
	seed.Main("viewbench", func() error { return run(c) })
}

// bench is one run: the flags, the cluster, the store's client and a
// plain client per master.
type bench struct {
	config
	cl      *testtopology.Cluster
	rdb     redis.UniversalClient
	masters []*redis.Client
	place   map[string]*share
}

func run(c config) (err error) {
	counts, err := c.check()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var out io.Writer = os.Stdout
	if c.out != "" {
		f, err := os.Create(c.out)
		if err != nil {
			return fmt.Errorf("create report: %w", err)
		}
		defer func() { err = errors.Join(err, f.Close()) }()
		out = io.MultiWriter(os.Stdout, f)
	}

	b := &bench{config: c}
	if b.cl, err = testtopology.StartClusterMain(); err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	defer func() { _ = b.cl.Stop() }()
	// The production client; a deep merge of many shards may outlast the
	// default timeout, which would fail the bench rather than measure it.
	if b.rdb, err = redisstore.Connect(redisstore.ConnectOptions{Mode: "cluster", Addrs: b.cl.Addrs(), Timeout: 10 * time.Second}); err != nil {
		return err
	}
	defer b.rdb.Close()
	addrs, err := b.cl.Masters(ctx)
	if err != nil {
		return fmt.Errorf("masters: %w", err)
	}
	for _, a := range addrs {
		m := redis.NewClient(&redis.Options{Addr: a, ReadTimeout: 10 * time.Second})
		defer m.Close()
		b.masters = append(b.masters, m)
	}
	if b.place, err = c.placement(ctx, b.rdb, addrs); err != nil {
		return err
	}
	c.header(out, seed.ServerVersion(ctx, b.masters[0]))
	for _, n := range counts {
		if err := b.measure(ctx, out, n); err != nil {
			return fmt.Errorf("view shards %d: %w", n, err)
		}
	}
	return nil
}

// check validates the flags and returns the shard counts.
func (c config) check() ([]int, error) {
	var counts []int
	for _, f := range strings.Split(c.shards, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-shards %q: %q is not a shard count", c.shards, f)
		}
		counts = append(counts, n)
	}
	switch {
	case c.tenants < 1 || c.partners < 1 || c.partners > c.tenants || c.perUser < 1 || c.workers < 1 || c.reps < 1 || c.perPage < 1:
		return nil, errors.New("-tenants, -partners (≤ tenants), -per-user, -workers, -reps and -per-page must be positive")
	case c.depth+c.perPage > c.sessions:
		return nil, fmt.Errorf("-depth %d leaves no full page of %d in %d sessions", c.depth, c.perPage, c.sessions)
	case c.partnerSessions() < 2*int64(c.perPage):
		return nil, fmt.Errorf("partner %s gets %d sessions, fewer than two pages", partnerID(0), c.partnerSessions())
	}
	return counts, nil
}

func tenantID(t int) string  { return fmt.Sprintf("tenant-%05d", t) }
func partnerID(p int) string { return fmt.Sprintf("partner-%03d", p) }

// sessionsOf is how many sessions tenant t gets: session i goes to tenant
// i mod tenants.
func (c config) sessionsOf(t int) int64 {
	n := c.sessions / c.tenants
	if t < c.sessions%c.tenants {
		n++
	}
	return int64(n)
}

// partnerSessions is how many sessions the listed partner, partner 0, gets.
func (c config) partnerSessions() int64 {
	var n int64
	for t := 0; t < c.tenants; t += c.partners {
		n += c.sessionsOf(t)
	}
	return n
}

// session is session i as the create handler would build it: a UUIDv7 id,
// the device type of its user agent, and an absolute expiry 1 to 7 hours
// ahead in whole seconds, so that some sessions share a score.
func (c config) session(i int, now time.Time) *session.Session {
	t, local := i%c.tenants, i/c.tenants
	uid := fmt.Sprintf("user-%06d", local/c.perUser)
	s := &session.Session{
		UserID: uid, TenantID: tenantID(t), PartnerID: partnerID(t % c.partners),
		UserEmail: uid + "@example.com", UserDisplayName: "Ada Lovelace",
		IPAddress: "203.0.113.42", UserAgent: seed.UserAgent, Location: "Berlin, DE",
		AbsoluteExpiresAt: now.Truncate(time.Second).Add(time.Hour + time.Duration(i*7919%21600)*time.Second),
	}
	s.Start(now, device.Classify)
	return s
}

// seedAll creates the sessions with c.workers concurrent creators.
func (c config) seedAll(ctx context.Context, st *redisstore.Store) error {
	now := time.Now().UTC()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, c.workers)
	for range c.workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < c.sessions && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := st.Create(ctx, c.session(i, now)); err != nil {
					errc <- fmt.Errorf("create session %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return errors.Join(<-errc, ctx.Err())
}

// share is what a master owns of the seeded tenants' slots.
type share struct{ tenants, sessions int64 }

// placement tells, per master address, the seeded tenants whose slot it owns
// and their sessions: the imbalance due to tenant placement alone.
func (c config) placement(ctx context.Context, rdb redis.UniversalClient, addrs []string) (map[string]*share, error) {
	ranges, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster slots: %w", err)
	}
	place := map[string]*share{}
	for _, a := range addrs {
		place[a] = &share{}
	}
	for t := range c.tenants {
		slot, err := rdb.ClusterKeySlot(ctx, "{"+tenantID(t)+"}").Result()
		if err != nil {
			return nil, fmt.Errorf("keyslot of %s: %w", tenantID(t), err)
		}
		i := slices.IndexFunc(ranges, func(r redis.ClusterSlot) bool { return int64(r.Start) <= slot && slot <= int64(r.End) })
		if i < 0 || len(ranges[i].Nodes) == 0 || place[ranges[i].Nodes[0].Addr] == nil {
			return nil, fmt.Errorf("slot %d of %s: no known master serves it", slot, tenantID(t))
		}
		sh := place[ranges[i].Nodes[0].Addr]
		sh.tenants++
		sh.sessions += c.sessionsOf(t)
	}
	return place, nil
}

// header states the method, for a reader of the pasted tables.
func (c config) header(w io.Writer, version string) {
	fmt.Fprintf(w, "## viewbench: cross-tenant views on a Redis Cluster\n\n")
	fmt.Fprintf(w, "Method: redis-server %s, %d masters + %d replica each on loopback (internal/testtopology, persistence off), %s, %d CPUs; "+
		"client redisstore.Connect (cluster). Per shard count in {%s}: FLUSHALL, Store.Upgrade, then %d sessions created through "+
		"redisstore.Store.Create by %d workers, over %d tenants (round robin) under %d partners, %d sessions per user, "+
		"absolute expiry 1-7 h ahead in whole seconds. Per master: used_memory, commandstats calls (housekeeping excluded) "+
		"and DBSIZE after seeding minus before. Listing: Store.List, per_page %d, %d timed calls per page, alternating page 1 and deep.\n\n",
		version, testtopology.ClusterMasters, testtopology.ClusterReplicas, runtime.Version(), runtime.NumCPU(),
		c.shards, c.sessions, c.workers, c.tenants, c.partners, c.perUser, c.perPage, c.reps)
}

// measure seeds the cluster with n view shards and reports on it.
func (b *bench) measure(ctx context.Context, w io.Writer, n int) error {
	// FLUSHALL on each master with the tool's own long-timeout clients: a
	// master of the previous round holds a few hundred MiB, more than the
	// harness's flush waits for. The replicas follow on their own.
	for _, m := range b.masters {
		if err := m.FlushAll(ctx).Err(); err != nil {
			return fmt.Errorf("flush %s: %w", m.Options().Addr, err)
		}
	}
	st := redisstore.New(b.rdb, redisstore.Options{ViewShards: n})
	if _, err := st.Upgrade(ctx); err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	before, err := sample(ctx, b.masters)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := b.seedAll(ctx, st); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	took := time.Since(start)
	after, err := sample(ctx, b.masters)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "### ViewShards %d\n\nSeeded %d sessions in %v.\n\n", n, b.sessions, took.Round(time.Millisecond))
	b.reportMasters(w, before, after)

	fmt.Fprintln(w, "| listing | page | offset | median | p90 |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	deep := session.Page{Number: b.depth/b.perPage + 1, PerPage: b.perPage}
	if err := b.timeListing(ctx, w, st, "global", session.Filter{}, deep, int64(b.sessions)); err != nil {
		return err
	}
	deep.Number = int(b.partnerSessions()/2)/b.perPage + 1
	if err := b.timeListing(ctx, w, st, "partner "+partnerID(0), session.Filter{PartnerID: partnerID(0)}, deep, b.partnerSessions()); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// reportMasters writes what the seeding added on each master, and the
// max/min ratios, beside the ratio due to tenant placement alone.
func (b *bench) reportMasters(w io.Writer, before, after []stats) {
	fmt.Fprintln(w, "| master | tenants owned | their sessions | keys | memory Δ (MiB) | commands Δ |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	var mem, cmds, own []int64
	for i, m := range b.masters {
		d := stats{after[i].mem - before[i].mem, after[i].cmds - before[i].cmds, after[i].keys - before[i].keys}
		sh := b.place[m.Options().Addr]
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.2f | %d |\n", m.Options().Addr, sh.tenants, sh.sessions, d.keys, float64(d.mem)/(1<<20), d.cmds)
		mem, cmds, own = append(mem, d.mem), append(cmds, d.cmds), append(own, sh.sessions)
	}
	fmt.Fprintf(w, "\nmax/min: memory %s, commands %s (tenant placement alone: sessions %s)\n\n", ratio(mem), ratio(cmds), ratio(own))
}

// timeListing times page 1 and the deep page of a listing, alternately,
// checks each answer, and writes two table rows and the ratio of medians.
func (c config) timeListing(ctx context.Context, w io.Writer, st *redisstore.Store, name string, f session.Filter, deep session.Page, want int64) error {
	pages := []session.Page{{Number: 1, PerPage: c.perPage}, deep}
	took := make([][]time.Duration, len(pages))
	for rep := -1; rep < c.reps; rep++ { // rep -1 warms up, untimed
		// Swap which page goes first, so neither always follows the other.
		for k := range pages {
			i := (k + rep) & 1
			start := time.Now()
			res, err := st.List(ctx, f, pages[i])
			d := time.Since(start)
			if err == nil {
				err = sane(res, f, pages[i], want)
			}
			if err != nil {
				return fmt.Errorf("list %s page %d: %w", name, pages[i].Number, err)
			}
			if rep >= 0 {
				took[i] = append(took[i], d)
			}
		}
	}
	for i, p := range pages {
		fmt.Fprintf(w, "| %s | %d | %d | %v | %v |\n", name, p.Number, p.Offset(), quantile(took[i], 0.5), quantile(took[i], 0.9))
	}
	fmt.Fprintf(w, "| %s deep/page 1 (medians) | | | %.2f× | |\n", name, float64(quantile(took[1], 0.5))/float64(quantile(took[0], 0.5)))
	return nil
}

// sane checks a page: the exact total, a full page, the filter's partner.
func sane(res session.PageResult, f session.Filter, p session.Page, want int64) error {
	if res.Total != want {
		return fmt.Errorf("total %d, want %d", res.Total, want)
	}
	if len(res.Items) != p.PerPage {
		return fmt.Errorf("%d items, want %d", len(res.Items), p.PerPage)
	}
	for _, s := range res.Items {
		if f.PartnerID != "" && s.PartnerID != f.PartnerID {
			return fmt.Errorf("session %s of partner %q, want %q", s.ID, s.PartnerID, f.PartnerID)
		}
	}
	return nil
}

// stats are a master's figures at one time.
type stats struct{ mem, cmds, keys int64 }

// sample reads each master's figures.
func sample(ctx context.Context, masters []*redis.Client) ([]stats, error) {
	out := make([]stats, len(masters))
	for i, m := range masters {
		var e1, e2, e3 error
		out[i].mem, e1 = seed.UsedMemory(ctx, m)
		out[i].cmds, e2 = commands(ctx, m)
		out[i].keys, e3 = m.DBSize(ctx).Result()
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, fmt.Errorf("sample %s: %w", m.Options().Addr, err)
		}
	}
	return out, nil
}

// housekeeping are commands that are no work of the store's: replication,
// the tool's polling, the client's topology discovery.
var housekeeping = []string{"info", "replconf", "psync", "sync", "ping", "cluster", "config", "dbsize", "wait",
	"flushall", "role", "client", "hello", "command", "select", "readonly", "memory", "auth"}

// commands sums the calls in INFO commandstats, housekeeping excluded.
func commands(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, fmt.Errorf("INFO commandstats: %w", err)
	}
	var total int64
	for _, line := range strings.Split(info, "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || slices.Contains(housekeeping, strings.SplitN(name, "|", 2)[0]) {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO commandstats: %q: %w", line, err)
		}
		total += n
	}
	return total, nil
}

// quantile is the q-quantile of d, by nearest rank.
func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(float64(len(s))*q)) - 1
	return s[max(i, 0)].Round(time.Microsecond)
}

// ratio is max/min of v.
func ratio(v []int64) string {
	lo, hi := slices.Min(v), slices.Max(v)
	if lo <= 0 {
		return "∞"
	}
	return fmt.Sprintf("%.2f", float64(hi)/float64(lo))
}
