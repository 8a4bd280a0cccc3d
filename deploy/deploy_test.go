// Package deploy_test checks the deployment files: docker-compose.yml, the
// Dockerfile, the Redis, Sentinel and Cluster configs (with a real
// redis-server), the Kubernetes manifests, and the Prometheus, alerting and
// Grafana files (with promtool). Tools it needs and misses are test failures
// with an install hint, never skips.
package deploy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/sessiond/sessiond/pkg/config"
)

// Tests run in deploy/; the repository root is one level up.
const root = ".."

// testSecret is a valid SESSIOND_JWT_HS256_SECRET (48 bytes) for the checks
// that run sessiond's configuration validation.
const testSecret = "deploy-test-secret-deploy-test-secret-0123456789"

// knownEnv is every variable pkg/config reads. TestKnownEnvComplete keeps it
// equal to pkg/config's Env* constants.
var knownEnv = []string{
	config.EnvAddr, config.EnvRedisURL, config.EnvRedisMode, config.EnvRedisAddrs,
	config.EnvRedisMaster, config.EnvRedisPassword, config.EnvRedisTLS, config.EnvRedisTimeout,
	config.EnvRedisWaitReplicas, config.EnvRedisWaitTimeout, config.EnvHS256Secret, config.EnvJWKSURL,
	config.EnvIssuer, config.EnvAudience, config.EnvLogLevel, config.EnvLogFormat,
	config.EnvMaxSessionLifetime, config.EnvSweepInterval, config.EnvRevokeBatch, config.EnvViewShards,
	config.EnvShutdownTimeout, config.EnvActivityInterval, config.EnvEventRetention,
	config.EnvPprofAddr, config.EnvConsole, config.EnvHistoryRetention, config.EnvHistoryMax,
	config.EnvDefaultMaxSessions, config.EnvDefaultOnLimit, config.EnvDefaultIdleTimeout, config.EnvDefaultMaxLifetime,
	config.EnvVerifyCache, config.EnvVerifyCacheMaxAge, config.EnvSigningKeyFile, config.EnvSigningPrevious,
	config.EnvSigningOverlap, config.EnvPushIssuer, config.EnvPushTries, config.EnvPushTimeout,
}

// secretEnv are the variables that hold secrets (the Redis URL may carry a
// password): they belong in a Secret, never in a ConfigMap.
var secretEnv = []string{config.EnvRedisURL, config.EnvRedisPassword, config.EnvHS256Secret}

func isKnownEnv(name string) bool { return slices.Contains(knownEnv, name) }

// TestKnownEnvComplete compares knownEnv with what config.Load reads
// (config.Variables), so that a variable added there is noticed here (and
// in the files that list every variable: docker-compose.yml and the
// ConfigMap).
func TestKnownEnvComplete(t *testing.T) {
	parsed := config.Variables()
	if len(parsed) < 10 {
		t.Fatalf("config.Variables found only %d variables: %v", len(parsed), parsed)
	}
	for _, name := range parsed {
		if !isKnownEnv(name) {
			t.Errorf("pkg/config reads %s, unknown to deploy_test.go: add it to knownEnv, and mention it in docker-compose.yml and deploy/k8s/configmap.yaml (or secret.example.yaml)", name)
		}
	}
	for _, name := range knownEnv {
		if !slices.Contains(parsed, name) {
			t.Errorf("knownEnv has %s, but config.Load does not read it", name)
		}
	}
}

// envMentionRE finds SESSIOND_* variable names in any text.
var envMentionRE = regexp.MustCompile(`\bSESSIOND_[A-Z0-9_]+\b`)

// TestEnvMentionsAreReal scans every deployment file, comments and notes
// included, for SESSIOND_* names that sessiond does not read (typos, renamed
// variables).
func TestEnvMentionsAreReal(t *testing.T) {
	files := []string{filepath.Join(root, "docker-compose.yml")}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".go") || strings.HasPrefix(path, "gateways") {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, name := range envMentionRE.FindAllString(readFile(t, f), -1) {
			// SESSIOND_UPSTREAM is the shipped Caddyfile's, not sessiond's.
			if !isKnownEnv(name) && name != "SESSIOND_UPSTREAM" {
				t.Errorf("%s mentions %s, which sessiond does not read (pkg/config)", f, name)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadConfig runs sessiond's own configuration validation on env.
func loadConfig(t *testing.T, where string, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: sessiond refuses this configuration: %v", where, err)
	}
	return cfg
}

// parseEnvFile reads VAR=value lines, skipping blanks and # comments.
func parseEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not VAR=value", path, line)
		}
		if _, dup := env[k]; dup {
			t.Errorf("%s: %s set twice", path, k)
		}
		env[k] = v
	}
	return env
}

func mustLookPath(t *testing.T, tool, hint string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is not installed, and this test needs it (it is never skipped). Install it:\n  %s", tool, hint)
	}
	return path
}

const (
	composeHint  = "sudo apt-get install -y docker-compose   # Debian/Ubuntu: Compose 1.29, enough to validate docker-compose.yml"
	promtoolHint = "sudo apt-get install -y prometheus       # Debian/Ubuntu: the package ships promtool"
	caddyHint    = "sudo apt-get install -y caddy            # Debian/Ubuntu: Caddy 2.6, enough to validate the Caddyfile"
)

// ---- docker-compose.yml -------------------------------------------------

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []any             `yaml:"ports"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		StartPeriod string   `yaml:"start_period"`
		Retries     int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	WorkingDir      string   `yaml:"working_dir"`
	Profiles        []string `yaml:"profiles"`
	Restart         string   `yaml:"restart"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// composeEnv is the environment docker-compose runs with: the test's, less
// anything that would change what docker-compose.yml resolves to.
func composeEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SESSIOND_") || strings.HasPrefix(k, "GRAFANA_") || strings.HasPrefix(k, "COMPOSE_") || k == "DOCKER_HOST" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func runCompose(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := mustLookPath(t, "docker-compose", composeHint)
	cmd := exec.Command(bin, append([]string{"-f", "docker-compose.yml"}, args...)...)
	cmd.Dir = root
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// resolvedCompose is docker-compose.yml as docker-compose itself resolves
// it (interpolated, absolute paths, every profile), after `config -q` passed.
func resolvedCompose(t *testing.T) composeFile {
	t.Helper()
	return resolvedComposeProfile(t, "monitoring")
}

// resolvedComposeProfile is resolvedCompose with profile's services.
func resolvedComposeProfile(t *testing.T, profile string) composeFile {
	t.Helper()
	env := composeEnv("SESSIOND_JWT_HS256_SECRET=" + testSecret)
	if _, stderr, err := runCompose(t, env, "config", "-q"); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, stderr)
	}
	out, stderr, err := runCompose(t, env, "--profile", profile, "config")
	if err != nil {
		t.Fatalf("docker-compose --profile %s config: %v\n%s", profile, err, stderr)
	}
	var f composeFile
	if err := yaml.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("parse docker-compose config output: %v\n%s", err, out)
	}
	return f
}

func TestComposeRequiresSecret(t *testing.T) {
	_, stderr, err := runCompose(t, composeEnv(), "config", "-q")
	if err == nil {
		t.Fatal("docker-compose config passed without SESSIOND_JWT_HS256_SECRET; it must refuse")
	}
	if !strings.Contains(stderr, "SESSIOND_JWT_HS256_SECRET is required") || !strings.Contains(stderr, "openssl rand") {
		t.Errorf("the error without SESSIOND_JWT_HS256_SECRET should say it is required and how to make one; got:\n%s", stderr)
	}
}

func TestComposeRedis(t *testing.T) {
	f := resolvedCompose(t)
	redis, ok := f.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}
	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis image %q, want redis:7-alpine", redis.Image)
	}
	if len(redis.Profiles) != 0 {
		t.Errorf("redis must run without a profile, has %v", redis.Profiles)
	}
	if redis.Healthcheck == nil || len(redis.Healthcheck.Test) < 2 || !slices.Contains(redis.Healthcheck.Test, "redis-cli") {
		t.Errorf("redis needs a redis-cli healthcheck, has %+v", redis.Healthcheck)
	}
	// The effective configuration: the config file the command names (a
	// mounted file), overridden by --name value arguments.
	if len(redis.Command) == 0 || redis.Command[0] != "redis-server" {
		t.Fatalf("redis command %q should start with redis-server", redis.Command)
	}
	settings := map[string]string{}
	args := redis.Command[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		src := mountSource(t, redis, args[0])
		want, _ := filepath.Abs("redis.conf")
		if src != want {
			t.Errorf("redis reads %s from %s, want deploy/redis.conf", args[0], src)
		}
		for _, d := range redisDirectives(t, src) {
			settings[d.name] = strings.Join(d.args, " ")
		}
		args = args[1:]
	}
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "--") {
			t.Fatalf("redis command argument %q is not --name", args[i])
		}
		name := strings.TrimPrefix(args[i], "--")
		var vals []string
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			i++
			vals = append(vals, args[i])
		}
		settings[name] = strings.Join(vals, " ")
	}
	for name, want := range map[string]string{
		"appendonly":       "yes",
		"appendfsync":      "everysec",
		"maxmemory-policy": "noeviction",
		"dir":              "/data",
	} {
		if settings[name] != want {
			t.Errorf("redis %s = %q, want %q", name, settings[name], want)
		}
	}
	if n, err := strconv.Atoi(settings["hash-max-listpack-value"]); err != nil || n < 200 {
		t.Errorf("redis hash-max-listpack-value = %q, want >= 200 so a session hash with a real user agent stays a listpack", settings["hash-max-listpack-value"])
	}
	// The AOF must be on a volume.
	if mountSource(t, redis, settings["dir"]) == "" {
		t.Errorf("redis dir %s is not a volume", settings["dir"])
	}
}

func TestComposeSessiond(t *testing.T) {
	f := resolvedCompose(t)
	s, ok := f.Services["sessiond"]
	if !ok {
		t.Fatal("no sessiond service")
	}
	if s.Build == nil || filepath.ToSlash(s.Build.Dockerfile) != "deploy/Dockerfile" {
		t.Errorf("sessiond should be built from deploy/Dockerfile, build is %+v", s.Build)
	}
	if len(s.Profiles) != 0 {
		t.Errorf("sessiond must run without a profile, has %v", s.Profiles)
	}
	if want := []string{"CMD", "/usr/local/bin/sessiond", "healthcheck"}; s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, want) {
		t.Errorf("sessiond healthcheck %+v, want test %q", s.Healthcheck, want)
	}
	if dep, ok := s.DependsOn["redis"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("sessiond should depend on redis with condition service_healthy, has %+v", s.DependsOn)
	}
	for k := range s.Environment {
		if strings.HasPrefix(k, "SESSIOND_") && !isKnownEnv(k) {
			t.Errorf("sessiond environment sets %s, which sessiond does not read", k)
		}
	}
	if s.Environment[config.EnvHS256Secret] != testSecret {
		t.Errorf("%s should come from the environment", config.EnvHS256Secret)
	}
	cfg := loadConfig(t, "docker-compose.yml sessiond environment", s.Environment)
	if cfg.DevStore() {
		t.Error("sessiond in compose would run on the in-memory dev store: set SESSIOND_REDIS_URL")
	}
	if host := urlHost(t, cfg.RedisURL); host != "redis" {
		t.Errorf("SESSIOND_REDIS_URL points at %q, want the compose service redis", host)
	}
	grace, err := time.ParseDuration(s.StopGracePeriod)
	if err != nil {
		t.Fatalf("sessiond stop_grace_period %q: %v", s.StopGracePeriod, err)
	}
	if grace <= cfg.ShutdownTimeout {
		t.Errorf("stop_grace_period %v must exceed SESSIOND_SHUTDOWN_TIMEOUT %v, or Docker kills sessiond mid-drain", grace, cfg.ShutdownTimeout)
	}
	_, port, _ := net.SplitHostPort(cfg.Addr)
	if !slices.Contains(containerPorts(t, s), port) {
		t.Errorf("sessiond ports %v do not publish SESSIOND_ADDR's port %s", s.Ports, port)
	}
}

func TestComposeMonitoring(t *testing.T) {
	f := resolvedCompose(t)
	for _, name := range []string{"prometheus", "grafana"} {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if !slices.Equal(s.Profiles, []string{"monitoring"}) {
			t.Errorf("%s profiles %v, want [monitoring]", name, s.Profiles)
		}
		if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			t.Errorf("%s image %q should be pinned to a version", name, s.Image)
		}
	}
	prom := f.Services["prometheus"]
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	if got := mountTarget(prom, abs("prometheus.yml")); got != "/etc/prometheus/prometheus.yml" {
		t.Errorf("deploy/prometheus.yml mounted at %q, want /etc/prometheus/prometheus.yml", got)
	}
	alerts := mountTarget(prom, abs("alerts.yml"))
	if alerts == "" {
		t.Error("deploy/alerts.yml is not mounted into prometheus")
	}
	var pc promConfig
	decodeStrict(t, "prometheus.yml", readFile(t, "prometheus.yml"), &pc)
	if !slices.Contains(pc.RuleFiles, alerts) {
		t.Errorf("prometheus.yml rule_files %v does not load %s, where compose mounts alerts.yml", pc.RuleFiles, alerts)
	}

	graf := f.Services["grafana"]
	prov := mountTarget(graf, abs("grafana/provisioning"))
	if prov != "/etc/grafana/provisioning" {
		t.Errorf("deploy/grafana/provisioning mounted at %q, want /etc/grafana/provisioning", prov)
	}
	dash := mountTarget(graf, abs("grafana/dashboards"))
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			OrgID                 int    `yaml:"orgId"`
			Folder                string `yaml:"folder"`
			Type                  string `yaml:"type"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	decodeStrict(t, "grafana dashboard provisioning", readFile(t, "grafana/provisioning/dashboards/sessiond.yml"), &dp)
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || dp.Providers[0].Options.Path != dash || dash == "" {
		t.Errorf("grafana dashboard provider %+v should read %q, where compose mounts deploy/grafana/dashboards", dp.Providers, dash)
	}
	if home := graf.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" && home != dash+"/sessiond.json" {
		t.Errorf("grafana home dashboard %q is not %s/sessiond.json", home, dash)
	}
	if graf.Environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true" && graf.Environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] != "Viewer" {
		t.Error("anonymous Grafana users must be Viewers")
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string         `yaml:"name"`
			UID       string         `yaml:"uid"`
			Type      string         `yaml:"type"`
			Access    string         `yaml:"access"`
			URL       string         `yaml:"url"`
			IsDefault bool           `yaml:"isDefault"`
			Editable  bool           `yaml:"editable"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	decodeStrict(t, "grafana datasource provisioning", readFile(t, "grafana/provisioning/datasources/prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Fatalf("want one prometheus datasource, got %+v", ds.Datasources)
	}
	if host := urlHost(t, ds.Datasources[0].URL); host != "prometheus" {
		t.Errorf("grafana datasource points at %q, want the compose service prometheus", host)
	}
	// Prometheus scrapes the sessiond service on SESSIOND_ADDR's port.
	cfg := loadConfig(t, "compose sessiond", f.Services["sessiond"].Environment)
	_, port, _ := net.SplitHostPort(cfg.Addr)
	if !slices.Contains(pc.sessiondTargets(), "sessiond:"+port) {
		t.Errorf("prometheus.yml job sessiond targets %v, want sessiond:%s", pc.sessiondTargets(), port)
	}
}

// TestComposeGateway checks the gateway profile: the shipped Caddyfile,
// validated by a real caddy with the environment compose gives it, in front
// of deploy/demoapp, asking the sessiond service.
func TestComposeGateway(t *testing.T) {
	f := resolvedComposeProfile(t, "gateway")
	gw, app := f.Services["gateway"], f.Services["demo-app"]
	for name, s := range map[string]composeService{"gateway": gw, "demo-app": app} {
		if !slices.Equal(s.Profiles, []string{"gateway"}) {
			t.Errorf("%s profiles %v, want [gateway]", name, s.Profiles)
		}
		if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			t.Errorf("%s image %q should be pinned to a version", name, s.Image)
		}
	}
	caddyfile, _ := filepath.Abs("gateways/caddy/Caddyfile")
	conf := ""
	if i := slices.Index(gw.Command, "--config"); i >= 0 && i+1 < len(gw.Command) {
		conf = gw.Command[i+1]
	}
	if conf == "" || mountTarget(gw, caddyfile) != conf {
		t.Errorf("gateway runs %q with --config %q, want deploy/gateways/caddy/Caddyfile mounted there (mounts %v)", gw.Command, conf, gw.Volumes)
	}
	sd := loadConfig(t, "compose sessiond", f.Services["sessiond"].Environment)
	_, sdPort, _ := net.SplitHostPort(sd.Addr)
	_, appPort, _ := net.SplitHostPort(app.Environment["DEMOAPP_ADDR"])
	_, listenPort, _ := net.SplitHostPort(gw.Environment["CADDY_LISTEN"])
	for k, want := range map[string]string{"SESSIOND_UPSTREAM": "sessiond:" + sdPort, "APP_UPSTREAM": "demo-app:" + appPort} {
		if got := gw.Environment[k]; got != want {
			t.Errorf("gateway %s = %q, want %q", k, got, want)
		}
	}
	shipped := readFile(t, "gateways/caddy/Caddyfile")
	for k := range gw.Environment {
		if !strings.Contains(shipped, "{$"+k+":") {
			t.Errorf("gateway sets %s, which the Caddyfile does not read", k)
		}
	}
	if ports := containerPorts(t, gw); !slices.Equal(ports, []string{listenPort}) {
		t.Errorf("gateway publishes %v, want CADDY_LISTEN's port %s", ports, listenPort)
	}
	for _, p := range gw.Ports {
		if s, ok := p.(string); !ok || !strings.HasPrefix(s, "127.0.0.1:") {
			t.Errorf("gateway port %v should be published on 127.0.0.1 only", p)
		}
	}
	if len(app.Ports) != 0 {
		t.Errorf("demo-app publishes %v: it must be reachable only through the gateway", app.Ports)
	}
	if dep, ok := gw.DependsOn["sessiond"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("gateway should depend on sessiond with condition service_healthy, has %+v", gw.DependsOn)
	}
	demo, _ := filepath.Abs("demoapp")
	if app.WorkingDir == "" || mountSource(t, app, app.WorkingDir) != demo || !slices.Equal(app.Command, []string{"go", "run", "main.go"}) {
		t.Errorf("demo-app runs %q in %q with mounts %v, want go run main.go in deploy/demoapp", app.Command, app.WorkingDir, app.Volumes)
	}

	// The file runs, as compose configures it.
	bin := mustLookPath(t, "caddy", caddyHint)
	cmd := exec.Command(bin, "validate", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	for k, v := range gw.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("caddy validate with the gateway's environment: %v\n%s", err, out)
	}
}

// containerPorts lists the container side of a service's published ports,
// in the short ("127.0.0.1:80:8080/tcp") or long ({target: 8080}) syntax.
func containerPorts(t *testing.T, s composeService) []string {
	t.Helper()
	var out []string
	for _, p := range s.Ports {
		switch v := p.(type) {
		case string:
			v, _, _ = strings.Cut(v, "/")
			out = append(out, v[strings.LastIndex(v, ":")+1:])
		case map[string]any:
			out = append(out, fmt.Sprint(v["target"]))
		default:
			t.Errorf("cannot read port %v (%T)", p, p)
		}
	}
	return out
}

// mountSource returns the host side of the volume mounted at target (an
// absolute path, or a named volume), or "".
func mountSource(t *testing.T, s composeService, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	return ""
}

// mountTarget returns where the host path src is mounted, or "".
func mountTarget(s composeService, src string) string {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[0] == src {
			return parts[1]
		}
	}
	return ""
}

func urlHost(t *testing.T, raw string) string {
	t.Helper()
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		t.Fatalf("%q is not a URL", raw)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	if _, hp, ok := strings.Cut(hostport, "@"); ok {
		hostport = hp
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// decodeStrict decodes YAML into v and fails on fields v does not have: a
// misspelt key in a config file is an error, not a silently ignored line.
func decodeStrict(t *testing.T, where, doc string, v any) {
	t.Helper()
	if err := yaml.UnmarshalWithOptions([]byte(doc), v, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// ---- deploy/Dockerfile --------------------------------------------------

func TestDockerfile(t *testing.T) {
	src := readFile(t, "Dockerfile")
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(src, "\\\n", " ")))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var froms []int
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build (build, then a minimal runtime image)", len(froms))
	}
	build := strings.Fields(lines[froms[0]])
	if len(build) < 4 || !strings.EqualFold(build[2], "AS") {
		t.Errorf("the first stage should be named (FROM image AS build): %q", lines[froms[0]])
	}
	buildStage := lines[froms[0]:froms[len(froms)-1]]
	final := lines[froms[len(froms)-1]:]
	if !slices.ContainsFunc(buildStage, func(l string) bool {
		return strings.HasPrefix(l, "RUN ") && strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build")
	}) {
		t.Error("the build stage should build a static binary: RUN CGO_ENABLED=0 ... go build")
	}
	var user, healthcheck, entrypoint string
	copied := false
	for _, l := range final {
		switch f := strings.Fields(l); strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "HEALTHCHECK":
			healthcheck = l
		case "ENTRYPOINT":
			entrypoint = l
		case "COPY":
			if strings.HasPrefix(l, "COPY --from=") && strings.HasSuffix(l, " /usr/local/bin/sessiond") {
				copied = true
			}
		}
	}
	if !copied {
		t.Error("the final stage should COPY --from the build stage to /usr/local/bin/sessiond (docker-compose.yml's healthcheck runs that path)")
	}
	if u, _, _ := strings.Cut(user, ":"); u != "nonroot" && u != "65532" {
		t.Errorf("the final stage runs as %q, want USER nonroot (uid 65532, as deploy/k8s expects)", user)
	}
	if !strings.Contains(healthcheck, `"/usr/local/bin/sessiond", "healthcheck"`) {
		t.Errorf("HEALTHCHECK %q should run /usr/local/bin/sessiond healthcheck (the image has no shell)", healthcheck)
	}
	if !strings.Contains(entrypoint, "/usr/local/bin/sessiond") {
		t.Errorf("ENTRYPOINT %q should be /usr/local/bin/sessiond", entrypoint)
	}
	if base := strings.Fields(final[0])[1]; !strings.Contains(base, "distroless") && !strings.HasPrefix(base, "scratch") {
		t.Errorf("runtime image %q: want a minimal distroless or scratch image", base)
	}
}

// ---- shared helpers -------------------------------------------------------

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
