package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	dto "github.com/prometheus/client_model/go"

	"github.com/sessiond/sessiond/pkg/metrics"
)

func yamlUnmarshalLoose(doc string, v any) error { return yaml.Unmarshal([]byte(doc), v) }

// knownMetrics is sessiond's metric families (pkg/metrics) and their types.
// TestMetricNamesExist checks each against the real registry, so that a
// dashboard or alert never queries a name sessiond does not export.
var knownMetrics = map[string]dto.MetricType{
	"sessiond_http_requests_total":            dto.MetricType_COUNTER,
	"sessiond_http_request_duration_seconds":  dto.MetricType_HISTOGRAM,
	"sessiond_http_requests_in_flight":        dto.MetricType_GAUGE,
	"sessiond_redis_command_duration_seconds": dto.MetricType_HISTOGRAM,
	"sessiond_redis_errors_total":             dto.MetricType_COUNTER,
	"sessiond_redis_pool_hits_total":          dto.MetricType_COUNTER,
	"sessiond_redis_pool_misses_total":        dto.MetricType_COUNTER,
	"sessiond_redis_pool_timeouts_total":      dto.MetricType_COUNTER,
	"sessiond_redis_pool_connections":         dto.MetricType_GAUGE,
	"sessiond_revocations_total":              dto.MetricType_COUNTER,
	"sessiond_event_followers":                dto.MetricType_GAUGE,
	"sessiond_event_delivery_lag_seconds":     dto.MetricType_HISTOGRAM,
	"sessiond_sweeps_total":                   dto.MetricType_COUNTER,
	"sessiond_sweep_pruned_total":             dto.MetricType_COUNTER,
	"sessiond_build_info":                     dto.MetricType_GAUGE,
	"sessiond_push_deliveries_total":          dto.MetricType_COUNTER,
	"sessiond_push_retries_total":             dto.MetricType_COUNTER,
	"sessiond_push_lag_seconds":               dto.MetricType_HISTOGRAM,
}

// TestMetricNamesExist records one of everything through pkg/metrics and
// checks that every name the dashboards and alerts use is exported with the
// expected type.
func TestMetricNamesExist(t *testing.T) {
	m := metrics.New("test")
	m.Followers(func() int { return 1 })
	m.Pool(func() metrics.PoolStats { return metrics.PoolStats{Hits: 1, TotalConns: 1} })
	m.ObserveRequest("/healthz", "GET", 200, time.Millisecond)
	m.InFlight(1)
	m.ObserveRedis("get", time.Millisecond, true)
	m.Revoked("test", 1)
	m.EventDelivered(time.Millisecond)
	m.Swept(nil, 1)
	m.Swept(errors.New("x"), 0)
	m.Delivered("caep", time.Millisecond)
	m.Retried("caep")
	m.Failed("caep")
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]dto.MetricType{}
	for _, f := range families {
		got[f.GetName()] = f.GetType()
	}
	for name, typ := range knownMetrics {
		if g, ok := got[name]; !ok {
			t.Errorf("pkg/metrics does not export %s, which deploy's dashboards or alerts use", name)
		} else if g != typ {
			t.Errorf("%s is a %v, deploy expects a %v", name, g, typ)
		}
	}
}

var metricRefRE = regexp.MustCompile(`\bsessiond_[a-z0-9_]+`)

// checkExpr checks the sessiond_ names a PromQL expression uses: each is a
// known metric (histograms only through _bucket, _sum or _count). It returns
// how many it found.
func checkExpr(t *testing.T, where, expr string) int {
	t.Helper()
	refs := metricRefRE.FindAllString(expr, -1)
	for _, ref := range refs {
		if typ, ok := knownMetrics[ref]; ok {
			if typ == dto.MetricType_HISTOGRAM {
				t.Errorf("%s: histogram %s used without _bucket, _sum or _count", where, ref)
			}
			continue
		}
		base := ref
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suf)
		}
		if typ, ok := knownMetrics[base]; !ok || typ != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: unknown metric %s", where, ref)
		}
	}
	if strings.Contains(expr, "histogram_quantile") && !strings.Contains(expr, "_bucket") {
		t.Errorf("%s: histogram_quantile needs a _bucket series", where)
	}
	return len(refs)
}

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	bin := mustLookPath(t, "promtool", promtoolHint)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ---- deploy/prometheus.yml ----------------------------------------------

type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func (p promConfig) sessiondTargets() []string {
	var out []string
	for _, sc := range p.ScrapeConfigs {
		if sc.JobName == "sessiond" {
			for _, s := range sc.StaticConfigs {
				out = append(out, s.Targets...)
			}
		}
	}
	return out
}

func TestPrometheusConfig(t *testing.T) {
	var pc promConfig
	decodeStrict(t, "prometheus.yml", readFile(t, "prometheus.yml"), &pc)
	var job bool
	for _, sc := range pc.ScrapeConfigs {
		if sc.JobName == "sessiond" {
			job = true
			if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
				t.Errorf("job sessiond scrapes %s, want /metrics", sc.MetricsPath)
			}
		}
	}
	if !job {
		t.Error(`prometheus.yml has no job "sessiond" (the alert rules select job="sessiond")`)
	}
	if len(pc.RuleFiles) != 1 || filepath.Base(pc.RuleFiles[0]) != "alerts.yml" {
		t.Fatalf("rule_files %v, want the one alerts.yml", pc.RuleFiles)
	}
	// promtool checks the file with the rules next to it, as in the container.
	dir := t.TempDir()
	conf := strings.ReplaceAll(readFile(t, "prometheus.yml"), pc.RuleFiles[0], "alerts.yml")
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), []byte(readFile(t, "alerts.yml")), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "check", "config", "prometheus.yml")
}

// ---- deploy/alerts.yml --------------------------------------------------

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	var rf ruleFile
	decodeStrict(t, "alerts.yml", readFile(t, "alerts.yml"), &rf)
	names := map[string]bool{}
	var exprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if r.Alert == "" {
				t.Errorf("group %s: a rule without an alert name", g.Name)
				continue
			}
			if names[r.Alert] {
				t.Errorf("%s defined twice", where)
			}
			names[r.Alert] = true
			exprs = append(exprs, r.Expr)
			if checkExpr(t, where, r.Expr) == 0 && !strings.Contains(r.Expr, `up{job="sessiond"}`) {
				t.Errorf("%s: expression uses neither a sessiond_ metric nor up{job=\"sessiond\"}", where)
			}
			if !strings.Contains(r.Expr, `job="sessiond"`) {
				t.Errorf("%s: select job=\"sessiond\" so that other jobs' series never match", where)
			}
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: want a duration, so that one bad scrape does not fire it", where, r.For)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs summary and description annotations", where)
			}
		}
	}
	for _, want := range []string{"SessiondDown", "SessiondHigh5xxRatio", "SessiondHighLatencyP99", "SessiondRedisErrors", "SessiondSweepFailing", "SessiondNoEventFollowers"} {
		if !names[want] {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, m := range []string{"sessiond_http_requests_total", "sessiond_http_request_duration_seconds_bucket", "sessiond_redis_errors_total", "sessiond_sweeps_total", "sessiond_event_followers"} {
		if !strings.Contains(all, m) {
			t.Errorf("no alert uses %s", m)
		}
	}
	promtool(t, ".", "check", "rules", "alerts.yml")
	promtool(t, ".", "test", "rules", "alerts_test.yml")
}

// ---- deploy/grafana -----------------------------------------------------

type grafanaPanel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  *grafanaDS               `json:"datasource"`
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
	Targets     []struct {
		RefID      string     `json:"refId"`
		Expr       string     `json:"expr"`
		Datasource *grafanaDS `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

var grafanaVarRE = regexp.MustCompile(`\$\{?(\w+)\}?`)

func TestGrafanaDashboard(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("grafana", "dashboards", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards in deploy/grafana/dashboards (%v)", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { checkDashboard(t, path) })
	}
}

func checkDashboard(t *testing.T, path string) {
	raw := []byte(readFile(t, path))
	if !json.Valid(raw) {
		t.Fatalf("%s is not valid JSON", path)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("dashboard needs uid, title and schemaVersion: %q %q %d", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] {
		t.Error("dashboard should select its datasource through a variable named datasource")
	}

	var panels []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			panels = append(panels, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)

	ids := map[int]bool{}
	used := map[string]bool{}
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	var rects [][4]int
	for _, p := range panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("%s: panel ids must be unique and non-zero", where)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", where, g)
		}
		for _, r := range rects {
			if g.X < r[0]+r[2] && r[0] < g.X+g.W && g.Y < r[1]+r[3] && r[1] < g.Y+g.H {
				t.Errorf("%s: overlaps another panel", where)
			}
		}
		rects = append(rects, [4]int{g.X, g.Y, g.W, g.H})
		if p.Type == "row" {
			continue
		}
		if p.Title == "" {
			t.Errorf("%s: no title", where)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource %+v, want uid ${datasource}", where, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", where)
		}
		for _, tg := range p.Targets {
			w := where + " query " + tg.RefID
			if checkExpr(t, w, tg.Expr) == 0 {
				t.Errorf("%s: %q uses no sessiond_ metric", w, tg.Expr)
			}
			for _, ref := range metricRefRE.FindAllString(tg.Expr, -1) {
				used[ref] = true
			}
			expr := tg.Expr
			for _, m := range grafanaVarRE.FindAllStringSubmatch(expr, -1) {
				if !vars[m[1]] {
					t.Errorf("%s: uses $%s, which the dashboard does not define", w, m[1])
				}
			}
			expr = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h").Replace(expr)
			expr = grafanaVarRE.ReplaceAllString(expr, "x")
			rules = append(rules, rule{Record: fmt.Sprintf("dashboard:panel%d:%s", p.ID, tg.RefID), Expr: expr})
		}
	}
	// Every metric of sessiond is on the dashboard.
	for name, typ := range knownMetrics {
		if typ == dto.MetricType_HISTOGRAM {
			name += "_bucket"
		}
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
	for _, want := range []string{"histogram_quantile(0.5, sum by (le, route) (rate(sessiond_http_request_duration_seconds_bucket", "histogram_quantile(0.99, sum by (le, route) (rate(sessiond_http_request_duration_seconds_bucket", "sum by (route, status) (rate(sessiond_http_requests_total"} {
		if !slices.ContainsFunc(rules, func(r rule) bool { return strings.Contains(r.Expr, want) }) {
			t.Errorf("no panel query contains %q", want)
		}
	}
	// promtool parses every query (as recording rules).
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard_rules.yml"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "check", "rules", "dashboard_rules.yml")
}
