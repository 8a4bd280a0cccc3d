// Command revokecmp compares revoking a whole tenant through the REST
// endpoint (POST /api/v1/tenants/{t}/sessions/revoke-all, events included)
// with a raw pipelined loop of DEL s:{T}:<sid> + ZREM ix:{T}:all <sid> over
// the same sessions (1000 per pipeline, same client settings). It starts its
// own redis-server on a loopback port, seeds N sessions in one tenant through
// redisstore.Store.Create, SAVEs them, and reloads that dump (DEBUG RELOAD
// NOSAVE) before every run, so that both sides revoke identical data. With
// -floor it also runs the floor (runFloor): every key a revocation must
// change, in the fewest commands, with nothing read or checked. The views
// are one key each (SESSIOND_VIEW_SHARDS=1, the service's default on one
// server). It is run by hand, never by the test suite:
//
//	go run ./bench/revokecmp -n 100000 -runs 3 -floor
//	go run ./bench/revokecmp -n 100000 -runs 1 -commandstats -cpuprofile rest.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/redisstore"
)

const (
	tenant = "t-big"
	batch  = 1000
)

type config struct {
	n, runs, workers int
	commandstats     bool
	floor            bool
	cpuprofile       string
	history          time.Duration
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 100000, "sessions in the tenant")
	flag.IntVar(&c.runs, "runs", 3, "runs of each side")
	flag.IntVar(&c.workers, "workers", 32, "concurrent creators while seeding")
	flag.BoolVar(&c.floor, "floor", false, "also run the floor: every key a revocation changes, pipelined without scripts or checks")
	flag.BoolVar(&c.commandstats, "commandstats", false, "print Redis INFO commandstats and SLOWLOG of the first REST run")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a Go CPU profile of the REST runs to this file")
	flag.DurationVar(&c.history, "history", 0, "SESSIOND_HISTORY_RETENTION of the REST side (0 = history off); its cap is set to n")
	flag.Parse()
	seed.Main("revokecmp", func() error { return run(c) })
}

func run(c config) error {
	srv, rdb, stop, err := seed.StartRedis("--enable-debug-command", "yes", "--slowlog-log-slower-than", "10000")
	if err != nil {
		return err
	}
	defer stop()
	ctx := context.Background()
	// SAVE and DEBUG RELOAD of a large data set outlast any command timeout.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: -1})
	defer admin.Close()
	start := time.Now()
	if err := seed.Create(ctx, redisstore.New(rdb, redisstore.Options{ViewShards: 1}), seed.Shape{Tenant: tenant, Partner: "p1", PerUser: 5, UserFormat: "user-%07d"}, c.n, c.workers, nil); err != nil {
		return err
	}
	fmt.Printf("seeded %d sessions in %v\n", c.n, time.Since(start).Round(time.Millisecond))
	if err := admin.Do(ctx, "SAVE").Err(); err != nil {
		return fmt.Errorf("save: %w", err)
	}

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
	}
	var raw, rest, floor, rawCPU, restCPU, floorCPU []time.Duration
	for i := 0; i < c.runs; i++ {
		// Alternate which side goes first, so neither always gets a warmer server.
		sides := []string{"raw", "rest"}
		if c.floor {
			sides = append(sides, "floor")
		}
		if i%2 == 1 {
			slices.Reverse(sides)
		}
		for _, side := range sides {
			if err := reload(ctx, admin, c.n); err != nil {
				return err
			}
			var d time.Duration
			cpu0, err := redisCPU(ctx, rdb)
			if err != nil {
				return err
			}
			switch side {
			case "raw":
				d, err = runRaw(ctx, rdb)
			case "floor":
				d, err = runFloor(ctx, rdb)
			default:
				d, err = runREST(ctx, rdb, c, i == 0)
			}
			if err != nil {
				return fmt.Errorf("%s run %d: %w", side, i+1, err)
			}
			cpu1, err := redisCPU(ctx, rdb)
			if err != nil {
				return err
			}
			switch side {
			case "raw":
				raw, rawCPU = append(raw, d), append(rawCPU, cpu1-cpu0)
			case "floor":
				floor, floorCPU = append(floor, d), append(floorCPU, cpu1-cpu0)
			default:
				rest, restCPU = append(rest, d), append(restCPU, cpu1-cpu0)
			}
			fmt.Printf("run %d %-4s %v (redis-server CPU %v)\n", i+1, side, d.Round(time.Millisecond), (cpu1 - cpu0).Round(time.Millisecond))
		}
	}
	mr, mx := median(raw), median(rest)
	fmt.Printf("n=%d runs=%d history=%v\n", c.n, c.runs, c.history)
	fmt.Printf("raw  DEL+ZREM pipelined: median %v min %v max %v\n", mr.Round(time.Millisecond), slices.Min(raw).Round(time.Millisecond), slices.Max(raw).Round(time.Millisecond))
	fmt.Printf("REST revoke-all:         median %v min %v max %v\n", mx.Round(time.Millisecond), slices.Min(rest).Round(time.Millisecond), slices.Max(rest).Round(time.Millisecond))
	fmt.Printf("ratio REST/raw (medians): %.2f\n", float64(mx)/float64(mr))
	fmt.Printf("redis-server CPU (user+sys, medians): raw %v, REST %v, ratio %.2f\n",
		median(rawCPU).Round(time.Millisecond), median(restCPU).Round(time.Millisecond), float64(median(restCPU))/float64(median(rawCPU)))
	if c.floor {
		mf := median(floor)
		fmt.Printf("floor (every key, no script): median %v, floor/raw %.2f, REST/floor %.2f; redis-server CPU %v, floor/raw %.2f\n",
			mf.Round(time.Millisecond), float64(mf)/float64(mr), float64(mx)/float64(mf),
			median(floorCPU).Round(time.Millisecond), float64(median(floorCPU))/float64(median(rawCPU)))
	}
	return nil
}

// reload replaces the data set with the saved dump and checks it.
func reload(ctx context.Context, rdb redis.UniversalClient, n int) error {
	if err := rdb.Do(ctx, "DEBUG", "RELOAD", "NOSAVE").Err(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	got, err := rdb.ZCard(ctx, tenantIndex).Result()
	if err != nil {
		return err
	}
	if got != int64(n) {
		return fmt.Errorf("reload: %d sessions indexed, want %d", got, n)
	}
	return nil
}

// tenantIndex is the tenant's index of every session.
const tenantIndex = "ix:{" + tenant + "}:all"

// sessionKey is the hash of session sid.
func sessionKey(sid string) string { return "s:{" + tenant + "}:" + sid }

// runRaw is the baseline: per session DEL of the hash and ZREM from the
// tenant index, 1000 sessions per pipeline.
func runRaw(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	sids, err := rdb.ZRange(ctx, tenantIndex, 0, -1).Result()
	if err != nil {
		return 0, err
	}
	return timeBatches(ctx, rdb, "raw", sids, func(pipe redis.Pipeliner, _ int, part []string) {
		for _, sid := range part {
			pipe.Del(ctx, sessionKey(sid))
			pipe.ZRem(ctx, tenantIndex, sid)
		}
	})
}

// timeBatches times a pipeline per batch of sids, each filled by queue
// (off: the batch's first index in sids), and checks that the tenant
// index is empty afterwards.
func timeBatches(ctx context.Context, rdb redis.UniversalClient, side string, sids []string, queue func(pipe redis.Pipeliner, off int, part []string)) (time.Duration, error) {
	start := time.Now()
	for off := 0; off < len(sids); off += batch {
		pipe := rdb.Pipeline()
		queue(pipe, off, sids[off:min(len(sids), off+batch)])
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	took := time.Since(start)
	if left, err := rdb.ZCard(ctx, tenantIndex).Result(); err != nil || left != 0 {
		return 0, fmt.Errorf("%s: %d left in the index (%v)", side, left, err)
	}
	return took, nil
}

// runFloor is what no revocation can do without, in the fewest commands,
// with nothing read or checked while it is timed: for 1000 sessions at a
// time, one DEL of their hashes and id pointers, one ZREM from the tenant
// index, one per user index and per device index, one from each of the
// global and partner views (one key each: SESSIOND_VIEW_SHARDS=1), and one
// of their users from ix users, in one pipeline. The users and device
// types are read before the clock starts.
func runFloor(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	k := "{" + tenant + "}"
	sids, err := rdb.ZRange(ctx, tenantIndex, 0, -1).Result()
	if err != nil {
		return 0, err
	}
	type owner struct{ uid, dev string }
	owners := make([]owner, len(sids))
	for off := 0; off < len(sids); off += batch {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, 0, batch)
		for _, sid := range sids[off:min(len(sids), off+batch)] {
			cmds = append(cmds, pipe.HMGet(ctx, sessionKey(sid), "u", "dt"))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
		for i, c := range cmds {
			v := c.Val()
			u, _ := v[0].(string)
			d, _ := v[1].(string)
			if d == "" {
				d = "unknown"
			}
			owners[off+i] = owner{u, d}
		}
	}
	return timeBatches(ctx, rdb, "floor", sids, func(pipe redis.Pipeliner, off int, part []string) {
		keys := make([]string, 0, 2*len(part))
		members, views := make([]any, 0, len(part)), make([]any, 0, len(part))
		byKey := map[string][]any{}
		users := []any{}
		for i, sid := range part {
			o := owners[off+i]
			keys = append(keys, sessionKey(sid), "sid:{"+sid+"}")
			members, views = append(members, sid), append(views, sid+"!"+tenant)
			u := "ix:" + k + ":u:" + o.uid
			if byKey[u] == nil {
				users = append(users, o.uid)
			}
			byKey[u] = append(byKey[u], sid)
			byKey["ix:"+k+":d:"+o.dev] = append(byKey["ix:"+k+":d:"+o.dev], sid)
		}
		pipe.Del(ctx, keys...)
		pipe.ZRem(ctx, tenantIndex, members...)
		for key, m := range byKey {
			pipe.ZRem(ctx, key, m...)
		}
		pipe.ZRem(ctx, "ix:{#g}", views...)
		pipe.ZRem(ctx, "ix:{p:p1}", views...)
		pipe.ZRem(ctx, "ix:"+k+":users", users...)
	})
}

// runREST revokes the tenant through the real router over loopback HTTP.
func runREST(ctx context.Context, rdb redis.UniversalClient, c config, first bool) (time.Duration, error) {
	st := redisstore.New(rdb, redisstore.Options{HistoryRetention: c.history, HistoryMax: c.n, ViewShards: 1})
	web, err := seed.Serve(ctx, st)
	if err != nil {
		return 0, err
	}
	defer web.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, web.URL+"/api/v1/tenants/"+tenant+"/sessions/revoke-all", strings.NewReader(""))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+web.Admin)
	evBefore, err := rdb.XLen(ctx, "ev:{#revocations}").Result()
	if err != nil {
		return 0, err
	}
	if c.commandstats && first {
		_ = rdb.ConfigResetStat(ctx).Err()
		_ = rdb.Do(ctx, "SLOWLOG", "RESET").Err()
	}
	if c.cpuprofile != "" {
		f, err := os.OpenFile(c.cpuprofile, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if c.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	if left, err := rdb.ZCard(ctx, tenantIndex).Result(); err != nil || left != 0 {
		return 0, fmt.Errorf("rest: %d left in the index (%v)", left, err)
	}
	evAfter, err := rdb.XLen(ctx, "ev:{#revocations}").Result()
	if err != nil {
		return 0, err
	}
	if c.commandstats && first {
		info, _ := rdb.Info(ctx, "commandstats").Result()
		fmt.Printf("--- INFO commandstats (REST run)\n%s", info)
		slow, _ := rdb.SlowLogGet(ctx, 10).Result()
		fmt.Printf("--- SLOWLOG (>10ms): %d entries\n", len(slow))
		for _, e := range slow {
			fmt.Printf("  %v %.80v\n", e.Duration, e.Args)
		}
	}
	fmt.Printf("  events appended: %d; response %d bytes\n", evAfter-evBefore, len(body))
	return took, nil
}

// redisCPU is the CPU time redis-server has used (INFO cpu, user + sys).
// Unlike wall time it hardly moves when other processes compete for the CPU.
func redisCPU(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, f := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, f); ok {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, err
				}
				total += x
			}
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
