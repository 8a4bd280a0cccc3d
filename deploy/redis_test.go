package deploy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
	"github.com/sessiond/sessiond/internal/testredis"
)

type directive struct {
	name string
	args []string
}

// redisDirectives reads a redis.conf: one directive per line, # comments.
func redisDirectives(t *testing.T, path string) []directive {
	t.Helper()
	var out []directive
	for _, line := range strings.Split(readFile(t, path), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		out = append(out, directive{name: strings.ToLower(f[0]), args: f[1:]})
	}
	return out
}

// serverArgs turns directives into redis-server command-line arguments,
// leaving out those a test server must not take (its port and data
// directory come from testredis; include paths exist only in a container).
func serverArgs(ds []directive, skip ...string) []string {
	var args []string
	for _, d := range ds {
		if d.name == "port" || d.name == "dir" || d.name == "include" || contains(skip, d.name) {
			continue
		}
		args = append(args, "--"+d.name)
		args = append(args, d.args...)
	}
	return args
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func configGet(t *testing.T, ctx context.Context, rdb redis.UniversalClient, name string) string {
	t.Helper()
	v, err := rdb.ConfigGet(ctx, name).Result()
	if err != nil {
		t.Fatalf("CONFIG GET %s: %v", name, err)
	}
	return v[name]
}

// sessionFields is a session hash like redisstore writes (README.md, Redis
// key schema), with a long real-world user agent.
func sessionFields() map[string]any {
	ua := "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.122 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/471.0.0.35.82;]"
	return map[string]any{
		"u": "user-000123", "p": "partner-1", "em": "user-000123@example.com", "dn": "Ada Lovelace",
		"ip": "203.0.113.42", "ua": ua, "dt": "mobile", "loc": "Berlin, DE", "c": "1718000000000",
		"la": "1718000000000", "e": "1718086400000", "ae": "1718086400000", "it": "0",
	}
}

// TestRedisConf starts a real redis-server with deploy/redis.conf's
// directives: Redis must accept every one of them, and a session hash with a
// 200-byte user agent must stay a compact listpack.
func TestRedisConf(t *testing.T) {
	ds := redisDirectives(t, "redis.conf")
	srv := testredis.Start(t, serverArgs(ds)...)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	for name, want := range map[string]string{
		"appendonly":       "yes",
		"appendfsync":      "everysec",
		"maxmemory-policy": "noeviction",
		"save":             "3600 1 300 100 60 10000",
	} {
		if got := configGet(t, ctx, rdb, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	lp, _ := strconv.Atoi(configGet(t, ctx, rdb, "hash-max-listpack-value"))
	fields := sessionFields()
	if ua := len(fields["ua"].(string)); lp < ua {
		t.Errorf("hash-max-listpack-value %d is shorter than a %d-byte user agent", lp, ua)
	}
	if err := rdb.HSet(ctx, "s:{t1}:sid", fields).Err(); err != nil {
		t.Fatal(err)
	}
	if enc := rdb.ObjectEncoding(ctx, "s:{t1}:sid").Val(); enc != "listpack" {
		t.Errorf("a session hash is encoded as %q, want listpack", enc)
	}
	// Writes must fail rather than evict when memory runs out.
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("a write over maxmemory answered %v, want an OOM error (noeviction)", err)
	}
	if n := rdb.Exists(ctx, "s:{t1}:sid").Val(); n != 1 {
		t.Error("the session hash was evicted")
	}
}

// TestClusterNodeConf starts a redis-server with deploy/cluster's node
// config, gives it every slot and uses it as sessiond would: through a
// cluster client, with tenant hash tags.
func TestClusterNodeConf(t *testing.T) {
	ds := redisDirectives(t, "cluster/redis-node.conf")
	checkSameStorage(t, "cluster/redis-node.conf", ds)
	srv := testredis.Start(t, serverArgs(ds)...)
	ctx := context.Background()
	node := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer node.Close()
	if got := configGet(t, ctx, node, "cluster-enabled"); got != "yes" {
		t.Fatalf("cluster-enabled = %q", got)
	}
	if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(10*time.Second, func() error {
		info := node.ClusterInfo(ctx).Val()
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("cluster info: %s", info)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	defer cc.Close()
	if err := cc.HSet(ctx, "s:{t1}:sid", sessionFields()).Err(); err != nil {
		t.Fatal(err)
	}
	// A multi-key script on one tenant's slot, as sessiond's are.
	n, err := cc.Eval(ctx, "redis.call('ZADD', KEYS[2], 1, 'sid'); return redis.call('HLEN', KEYS[1])",
		[]string{"s:{t1}:sid", "ix:{t1}:all"}).Int()
	if err != nil || n != len(sessionFields()) {
		t.Fatalf("script on a tenant slot: %d, %v", n, err)
	}
}

// checkSameStorage keeps a node config's storage settings equal to
// deploy/redis.conf's.
func checkSameStorage(t *testing.T, path string, ds []directive) {
	t.Helper()
	want := map[string]string{}
	for _, d := range redisDirectives(t, "redis.conf") {
		want[d.name] = strings.Join(d.args, " ")
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.name] = strings.Join(d.args, " ")
	}
	for _, name := range []string{"appendonly", "appendfsync", "dir", "save", "maxmemory-policy", "hash-max-listpack-value"} {
		if got[name] != want[name] {
			t.Errorf("%s: %s = %q, but deploy/redis.conf has %q", path, name, got[name], want[name])
		}
	}
}

var monitorRE = regexp.MustCompile(`(?m)^sentinel monitor (\S+) (\S+) (\d+) (\d+)\s*$`)

// TestSentinel runs deploy/sentinel's setup for real: a primary with
// deploy/redis.conf, a replica with replica.conf, and a sentinel with
// sentinel.conf (the primary's address replaced by the test server's). A
// failover client configured like sentinel/sessiond.env finds the primary,
// and WAIT 1 is acknowledged by the replica.
func TestSentinel(t *testing.T) {
	env := parseEnvFile(t, "sentinel/sessiond.env")
	env["SESSIOND_JWT_HS256_SECRET"] = testSecret
	cfg := loadConfig(t, "deploy/sentinel/sessiond.env", env)
	if cfg.RedisMode != "sentinel" || cfg.RedisWaitReplicas < 1 {
		t.Errorf("sentinel/sessiond.env: mode %q, wait replicas %d; want sentinel and >= 1", cfg.RedisMode, cfg.RedisWaitReplicas)
	}

	conf := readFile(t, "sentinel/sentinel.conf")
	m := monitorRE.FindStringSubmatch(conf)
	if m == nil {
		t.Fatal("sentinel.conf has no 'sentinel monitor <name> <host> <port> <quorum>' line")
	}
	if m[1] != cfg.RedisMaster {
		t.Errorf("sentinel.conf monitors %q, but SESSIOND_REDIS_MASTER is %q", m[1], cfg.RedisMaster)
	}
	if q, _ := strconv.Atoi(m[4]); q < 2 {
		t.Errorf("sentinel quorum %d: want at least 2 (of 3 sentinels)", q)
	}
	replica := redisDirectives(t, "sentinel/replica.conf")
	var includes, replicaof bool
	for _, d := range replica {
		includes = includes || d.name == "include" && len(d.args) == 1 && strings.HasSuffix(d.args[0], "/redis.conf")
		replicaof = replicaof || d.name == "replicaof" && len(d.args) == 2 && d.args[0] == m[2] && d.args[1] == m[3]
	}
	if !includes || !replicaof {
		t.Errorf("sentinel/replica.conf should include redis.conf and be a replicaof %s %s", m[2], m[3])
	}

	primaryArgs := serverArgs(redisDirectives(t, "redis.conf"))
	primary := testredis.Start(t, primaryArgs...)
	replicaArgs := append(append([]string{}, primaryArgs...), serverArgs(replica, "replicaof")...)
	replicaArgs = append(replicaArgs, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port()))
	testredis.Start(t, replicaArgs...)

	port := freePort(t)
	conf = monitorRE.ReplaceAllString(conf, fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %s", m[1], primary.Port(), "1"))
	conf = regexp.MustCompile(`(?m)^port \d+$`).ReplaceAllString(conf, "port "+strconv.Itoa(port))
	dir := t.TempDir()
	confPath := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(confPath, []byte(conf+"\nbind 127.0.0.1\ndir "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startSentinel(t, confPath, port)

	ctx := context.Background()
	fc := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    cfg.RedisMaster,
		SentinelAddrs: []string{fmt.Sprintf("127.0.0.1:%d", port)},
	})
	defer fc.Close()
	if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("write through the sentinel: %v", err)
	}
	if err := waitFor(15*time.Second, func() error {
		n, err := fc.Do(ctx, "WAIT", 1, 200).Int()
		if err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("WAIT 1 acknowledged by %d replicas", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// startSentinel runs redis-server --sentinel with conf until the test ends.
func startSentinel(t *testing.T, conf string, port int) {
	t.Helper()
	bin := mustLookPath(t, "redis-server", testredis.InstallHint)
	cmd := exec.Command(bin, conf, "--sentinel")
	out := testproc.NewTail(1 << 20)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer sc.Close()
	if err := waitFor(10*time.Second, func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("sentinel exited: %v", err)
		default:
		}
		return sc.Ping(context.Background()).Err()
	}); err != nil {
		t.Fatalf("sentinel did not start: %v\n%s", err, out.String())
	}
}
