// Command membreakdown shows where Redis memory goes per session. It starts a
// redis-server on a loopback port, creates sessions through redisstore the
// way bench/memrevoke does (one tenant, one partner, 5 sessions per user,
// 110-byte user agent), then walks every key with SCAN and MEMORY USAGE
// (SAMPLES 0: exact for aggregates) and sums the bytes by key class. It is run
// by hand, never by the test suite:
//
//	go run ./bench/membreakdown -n 100000
//
// MEMORY USAGE counts a key's value, its name and its main-dictionary entry;
// the rest of used_memory (the expires dictionary, the hash tables' bucket
// arrays, allocator slack) is reported as "not in MEMORY USAGE".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/redisstore"
)

func main() {
	n := flag.Int("n", 100000, "sessions in the tenant")
	perUser := flag.Int("per-user", 5, "sessions per user")
	userFormat := flag.String("user-format", "user-%06d", "user id format (make bench uses user-%07d)")
	workers := flag.Int("workers", 32, "concurrent creators")
	config := flag.String("config", "hash-max-listpack-value=256", "comma list of name=value set with CONFIG SET before seeding")
	flag.Parse()
	seed.Main("membreakdown", func() error { return run(*n, *perUser, *userFormat, *workers, *config) })
}

func run(n, perUser int, userFormat string, workers int, config string) error {
	ctx := context.Background()
	rdb, stop, err := seed.StartPool(ctx, workers+4, config)
	if err != nil {
		return err
	}
	defer stop()
	st := redisstore.New(rdb, redisstore.Options{})
	base, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	if err := seed.Create(ctx, st, seed.Shape{Tenant: "tenant-big", Partner: "partner-1", PerUser: perUser, UserFormat: userFormat}, n, workers, nil); err != nil {
		return err
	}
	after, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	classes, err := breakdown(ctx, rdb)
	if err != nil {
		return err
	}

	fmt.Printf("sessions: %d, %d per user, user agent %d bytes, config %q, redis %s\n", n, perUser, len(seed.UserAgent), config, seed.ServerVersion(ctx, rdb))
	fmt.Printf("used_memory delta: %d bytes = %.0f bytes/session\n\n", after-base, float64(after-base)/float64(n))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tkeys\tentries\tbytes\tB/session\tB/entry\tencoding\t")
	var sum int64
	for _, c := range classes {
		sum += c.bytes
		perEntry := "-"
		if c.entries > 0 {
			perEntry = fmt.Sprintf("%.1f", float64(c.bytes)/float64(c.entries))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t\n", c.name, c.keys, c.entries, c.bytes, float64(c.bytes)/float64(n), perEntry, c.encodings())
	}
	rest := after - base - sum
	fmt.Fprintf(tw, "sum of MEMORY USAGE\t\t\t%d\t%.1f\t\t\t\n", sum, float64(sum)/float64(n))
	fmt.Fprintf(tw, "not in MEMORY USAGE\t\t\t%d\t%.1f\t\t\t\n", rest, float64(rest)/float64(n))
	return tw.Flush()
}

type class struct {
	name          string
	keys, entries int64
	bytes         int64
	enc           map[string]int
}

func (c *class) encodings() string {
	var out []string
	for e, n := range c.enc {
		out = append(out, fmt.Sprintf("%s:%d", e, n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// keyClasses are the key classes of the schema in redisstore/keys.go, in the
// order classOf tries them (the first match names the class).
var keyClasses = []struct {
	match func(key, part string) bool
	part  string
	name  string
}{
	{strings.HasPrefix, "s:", "session hash s:"},
	{strings.HasPrefix, "sid:", "id pointer sid:"},
	{strings.HasPrefix, "ix:{#g", "global view ix:{#g…}"},
	{strings.HasPrefix, "ix:{p:", "partner view ix:{p:}"},
	{strings.HasSuffix, ":all", "tenant index ix:all"},
	{strings.HasSuffix, ":users", "users index ix:users"},
	{strings.HasSuffix, ":ue", "earliest expiry ix:ue"},
	{strings.Contains, ":u:", "user index ix:u:"},
	{strings.Contains, ":d:", "device index ix:d:"},
	{strings.HasPrefix, "ut:", "user tenants ut:"},
}

// classOf names the key class of a key of the schema in redisstore/keys.go.
func classOf(key string) string {
	for _, c := range keyClasses {
		if c.match(key, c.part) {
			return c.name
		}
	}
	if p, _, ok := strings.Cut(key, ":"); ok {
		return p + ":"
	}
	return key
}

// breakdown sums MEMORY USAGE over every key, by class.
func breakdown(ctx context.Context, rdb *redis.Client) ([]*class, error) {
	byName := map[string]*class{}
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, err
		}
		pipe := rdb.Pipeline()
		mem := make([]*redis.IntCmd, len(keys))
		typ := make([]*redis.StatusCmd, len(keys))
		enc := make([]*redis.StringCmd, len(keys))
		for i, k := range keys {
			mem[i] = pipe.MemoryUsage(ctx, k, 0)
			typ[i] = pipe.Type(ctx, k)
			enc[i] = pipe.ObjectEncoding(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, err
		}
		pipe = rdb.Pipeline()
		size := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			switch typ[i].Val() {
			case "zset":
				size[i] = pipe.ZCard(ctx, k)
			case "set":
				size[i] = pipe.SCard(ctx, k)
			case "hash":
				size[i] = pipe.HLen(ctx, k)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, err
		}
		for i, k := range keys {
			name := classOf(k)
			c := byName[name]
			if c == nil {
				c = &class{name: name, enc: map[string]int{}}
				byName[name] = c
			}
			c.keys++
			c.bytes += mem[i].Val()
			c.enc[enc[i].Val()]++
			if size[i] != nil && typ[i].Val() != "hash" {
				c.entries += size[i].Val()
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	out := make([]*class, 0, len(byName))
	for _, c := range byName {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].bytes > out[j].bytes })
	return out, nil
}
