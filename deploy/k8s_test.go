package deploy_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/config"
)

// The structs below mirror the Kubernetes fields the manifests use, with
// their exact names. Manifests are decoded strictly, so a misspelt or
// misplaced field fails here instead of being dropped by the API server.

type objectMeta struct {
	Name        string         `yaml:"name"`
	Namespace   string         `yaml:"namespace"`
	Labels      map[string]any `yaml:"labels"`
	Annotations map[string]any `yaml:"annotations"`
}

// TypeMeta is what every object has: apiVersion, kind and metadata. The
// objects embed it inline; go-yaml inlines only exported embedded types.
type TypeMeta struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type labelSelector struct {
	MatchLabels map[string]any `yaml:"matchLabels"`
}

type deployment struct {
	TypeMeta `yaml:",inline"`
	Spec     struct {
		Replicas             *int          `yaml:"replicas"`
		RevisionHistoryLimit *int          `yaml:"revisionHistoryLimit"`
		Selector             labelSelector `yaml:"selector"`
		Strategy             struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName            string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool               `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int                `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *podSecurityContext `yaml:"securityContext"`
	TopologySpreadConstraints     []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type podSecurityContext struct {
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type containerSecurityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	RunAsGroup               *int64 `yaml:"runAsGroup"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Privileged               *bool  `yaml:"privileged"`
	Capabilities             *struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type probe struct {
	HTTPGet *struct {
		Path   string `yaml:"path"`
		Port   any    `yaml:"port"`
		Scheme string `yaml:"scheme"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
	SuccessThreshold    int `yaml:"successThreshold"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Args            []string `yaml:"args"`
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]any `yaml:"requests"`
		Limits   map[string]any `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *containerSecurityContext `yaml:"securityContext"`
}

type service struct {
	TypeMeta `yaml:",inline"`
	Spec     struct {
		Type     string         `yaml:"type"`
		Selector map[string]any `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type pdb struct {
	TypeMeta `yaml:",inline"`
	Spec     struct {
		MinAvailable               any           `yaml:"minAvailable"`
		MaxUnavailable             any           `yaml:"maxUnavailable"`
		UnhealthyPodEvictionPolicy string        `yaml:"unhealthyPodEvictionPolicy"`
		Selector                   labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type hpaScalingRules struct {
	StabilizationWindowSeconds *int `yaml:"stabilizationWindowSeconds"`
	Policies                   []struct {
		Type          string `yaml:"type"`
		Value         int    `yaml:"value"`
		PeriodSeconds int    `yaml:"periodSeconds"`
	} `yaml:"policies"`
}

type hpa struct {
	TypeMeta `yaml:",inline"`
	Spec     struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int `yaml:"minReplicas"`
		MaxReplicas int  `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource *struct {
				Name   string `yaml:"name"`
				Target struct {
					Type               string `yaml:"type"`
					AverageUtilization *int   `yaml:"averageUtilization"`
				} `yaml:"target"`
			} `yaml:"resource"`
		} `yaml:"metrics"`
		Behavior *struct {
			ScaleDown *hpaScalingRules `yaml:"scaleDown"`
			ScaleUp   *hpaScalingRules `yaml:"scaleUp"`
		} `yaml:"behavior"`
	} `yaml:"spec"`
}

type configMap struct {
	TypeMeta `yaml:",inline"`
	Data     map[string]any `yaml:"data"`
}

type secret struct {
	TypeMeta   `yaml:",inline"`
	Type       string         `yaml:"type"`
	StringData map[string]any `yaml:"stringData"`
	Data       map[string]any `yaml:"data"`
}

type serviceAccount struct {
	TypeMeta                     `yaml:",inline"`
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
}

type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Labels     []struct {
		Pairs            map[string]any `yaml:"pairs"`
		IncludeSelectors bool           `yaml:"includeSelectors"`
	} `yaml:"labels"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// manifests is every object under deploy/k8s, by kind.
type manifests struct {
	deployments     []deployment
	services        []service
	pdbs            []pdb
	hpas            []hpa
	configMaps      []configMap
	secrets         []secret
	serviceAccounts []serviceAccount
	kustomization   *kustomization
	files           map[string][]string // file -> kinds
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("k8s", "*"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{files: map[string][]string{}}
	for _, path := range paths {
		base := filepath.Base(path)
		if base == "README.md" {
			continue
		}
		if ext := filepath.Ext(base); ext != ".yaml" {
			t.Errorf("%s: manifests must be .yaml files (kustomize and this test look for them)", path)
			continue
		}
		for i, doc := range docSeparator.Split(readFile(t, path), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			where := fmt.Sprintf("%s (document %d)", path, i+1)
			var tm TypeMeta
			if err := yamlUnmarshalLoose(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			m.files[base] = append(m.files[base], tm.Kind)
			switch tm.Kind {
			case "Deployment":
				appendDecoded(t, where, doc, &m.deployments)
			case "Service":
				appendDecoded(t, where, doc, &m.services)
			case "PodDisruptionBudget":
				appendDecoded(t, where, doc, &m.pdbs)
			case "HorizontalPodAutoscaler":
				appendDecoded(t, where, doc, &m.hpas)
			case "ConfigMap":
				appendDecoded(t, where, doc, &m.configMaps)
			case "Secret":
				appendDecoded(t, where, doc, &m.secrets)
			case "ServiceAccount":
				appendDecoded(t, where, doc, &m.serviceAccounts)
			case "Kustomization":
				var k kustomization
				decodeStrict(t, where, doc, &k)
				m.kustomization = &k
			default:
				t.Errorf("%s: kind %q is not checked by deploy/k8s_test.go; add checks for it", where, tm.Kind)
			}
			if tm.Kind != "Kustomization" && tm.Metadata.Name == "" {
				t.Errorf("%s: no metadata.name", where)
			}
		}
	}
	return m
}

// appendDecoded decodes doc strictly as one T and appends it to list.
func appendDecoded[T any](t *testing.T, where, doc string, list *[]T) {
	t.Helper()
	var v T
	decodeStrict(t, where, doc, &v)
	*list = append(*list, v)
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// one returns the single object of a kind, failing on none or several.
func one[T any](t *testing.T, kind string, objs []T) T {
	t.Helper()
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s in deploy/k8s, found %d", kind, len(objs))
	}
	return objs[0]
}

// strMap checks that every value is a string, as Kubernetes requires for
// labels, annotations and ConfigMap data (an unquoted true or 8080 is not).
func strMap(t *testing.T, where string, m map[string]any) map[string]string {
	t.Helper()
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			t.Errorf("%s: %s is %T (%v), want a string: quote it", where, k, v, v)
			continue
		}
		out[k] = s
	}
	return out
}

// selects reports whether selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestK8sDeployment(t *testing.T) {
	m := loadManifests(t)
	d := one(t, "Deployment", m.deployments)
	cm := one(t, "ConfigMap", m.configMaps)
	sec := one(t, "Secret", m.secrets)
	env := effectiveEnv(t, cm, sec)
	cfg := loadConfig(t, "deploy/k8s ConfigMap + example Secret", env)

	if d.APIVersion != "apps/v1" {
		t.Errorf("Deployment apiVersion %q, want apps/v1", d.APIVersion)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment replicas %v, want at least 2", d.Spec.Replicas)
	}
	podLabels := strMap(t, "pod labels", d.Spec.Template.Metadata.Labels)
	selector := strMap(t, "Deployment selector", d.Spec.Selector.MatchLabels)
	if !selects(selector, podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", selector, podLabels)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || fmt.Sprint(ru.MaxUnavailable) != "0" {
		t.Error("rollingUpdate.maxUnavailable should be 0: a rollout never lowers serving capacity")
	}

	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image == "" {
		t.Error("container has no image")
	}

	// The port: SESSIOND_ADDR's, named http, and the one Prometheus scrapes.
	_, addrPort, _ := net.SplitHostPort(cfg.Addr)
	port, _ := strconv.Atoi(addrPort)
	portByName := map[string]int{}
	for _, p := range c.Ports {
		portByName[p.Name] = p.ContainerPort
	}
	if portByName["http"] != port {
		t.Errorf("containerPort named http is %d, want SESSIOND_ADDR's port %d", portByName["http"], port)
	}
	ann := strMap(t, "pod annotations", d.Spec.Template.Metadata.Annotations)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != addrPort || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations %v: want prometheus.io/scrape \"true\", port %q, path /metrics", ann, addrPort)
	}

	// Probes.
	for _, p := range []struct {
		name string
		pr   *probe
		path string
	}{
		{"startupProbe", c.StartupProbe, "/healthz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if p.pr == nil || p.pr.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe (the image has no shell for exec probes)", p.name)
			continue
		}
		if p.pr.HTTPGet.Path != p.path {
			t.Errorf("%s path %q, want %s", p.name, p.pr.HTTPGet.Path, p.path)
		}
		if got := probePort(p.pr.HTTPGet.Port, portByName); got != port {
			t.Errorf("%s port %v is not the http port %d", p.name, p.pr.HTTPGet.Port, port)
		}
	}
	// /readyz answers within 2s (its Redis PING timeout): the probe waits longer.
	if rp := c.ReadinessProbe; rp != nil && rp.TimeoutSeconds <= 2 {
		t.Errorf("readinessProbe timeoutSeconds %d: /readyz may take 2s, want > 2", rp.TimeoutSeconds)
	}
	if sp := c.StartupProbe; sp != nil && sp.PeriodSeconds*sp.FailureThreshold < 30 {
		t.Errorf("startupProbe allows only %ds to start", sp.PeriodSeconds*sp.FailureThreshold)
	}

	// Resources.
	for _, res := range []string{"cpu", "memory"} {
		req, hasReq := c.Resources.Requests[res].(string)
		lim, hasLim := c.Resources.Limits[res].(string)
		if !hasReq || !hasLim {
			t.Errorf("resources: want requests and limits for %s (as quoted strings), have %v / %v", res, c.Resources.Requests[res], c.Resources.Limits[res])
			continue
		}
		r, l := quantity(t, req), quantity(t, lim)
		if r <= 0 || r > l {
			t.Errorf("resources %s: request %s must be positive and at most the limit %s", res, req, lim)
		}
	}
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			lim, _ := c.Resources.Limits["memory"].(string)
			if gomem := goMemLimit(t, e.Value); lim != "" && (gomem >= quantity(t, lim) || gomem < quantity(t, lim)*0.7) {
				t.Errorf("GOMEMLIMIT %s should be 70-99%% of the memory limit %s", e.Value, lim)
			}
		}
		if strings.HasPrefix(e.Name, "SESSIOND_") {
			t.Errorf("container env sets %s: keep sessiond settings in the ConfigMap or Secret", e.Name)
		}
	}

	// Security context: the container's, falling back to the pod's.
	psc := pod.SecurityContext
	if psc == nil {
		psc = &podSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		t.Fatal("container has no securityContext")
	}
	if !boolOr(csc.RunAsNonRoot, psc.RunAsNonRoot) {
		t.Error("runAsNonRoot must be true")
	}
	if uid := int64Or(csc.RunAsUser, psc.RunAsUser); uid != 65532 {
		t.Errorf("runAsUser %d, want 65532 (distroless nonroot)", uid)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if csc.Privileged != nil && *csc.Privileged {
		t.Error("the container must not be privileged")
	}
	if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
		t.Error("capabilities: drop ALL, add none")
	}
	sp := csc.SeccompProfile
	if sp == nil {
		sp = psc.SeccompProfile
	}
	if sp == nil || sp.Type != "RuntimeDefault" {
		t.Errorf("seccompProfile %v, want RuntimeDefault", sp)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != "RuntimeDefault" || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("the pod securityContext should also set runAsNonRoot and seccompProfile RuntimeDefault")
	}

	// Configuration comes from the ConfigMap and the Secret.
	var cmRef, secRef string
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			cmRef = ef.ConfigMapRef.Name
		}
		if ef.SecretRef != nil {
			secRef = ef.SecretRef.Name
		}
	}
	if cmRef != cm.Metadata.Name || secRef != sec.Metadata.Name {
		t.Errorf("envFrom reads ConfigMap %q and Secret %q, want %q and %q", cmRef, secRef, cm.Metadata.Name, sec.Metadata.Name)
	}

	// Shutdown: the grace period covers the preStop sleep and the drain.
	preStop := 0
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = c.Lifecycle.PreStop.Sleep.Seconds
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Error("set terminationGracePeriodSeconds")
	} else if grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; grace <= time.Duration(preStop)*time.Second+cfg.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %v must exceed the preStop sleep %ds + SESSIOND_SHUTDOWN_TIMEOUT %v", grace, preStop, cfg.ShutdownTimeout)
	}

	// Service account without a token.
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken should be false: sessiond does not call the Kubernetes API")
	}
	if pod.ServiceAccountName != "" && !slices.ContainsFunc(m.serviceAccounts, func(sa serviceAccount) bool { return sa.Metadata.Name == pod.ServiceAccountName }) {
		t.Errorf("serviceAccountName %q has no ServiceAccount manifest", pod.ServiceAccountName)
	}
	for i, tsc := range pod.TopologySpreadConstraints {
		if !selects(strMap(t, "topologySpreadConstraints", tsc.LabelSelector.MatchLabels), podLabels) {
			t.Errorf("topologySpreadConstraints[%d] selector does not match the pod labels", i)
		}
	}
}

func probePort(p any, byName map[string]int) int {
	switch v := p.(type) {
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return byName[v]
	default:
		n, _ := strconv.Atoi(fmt.Sprint(v))
		return n
	}
}

func boolOr(a, b *bool) bool {
	if a != nil {
		return *a
	}
	return b != nil && *b
}

func int64Or(a, b *int64) int64 {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return -1
}

// quantity parses the Kubernetes quantities the manifests use: 100m, 1,
// 64Mi, 1Gi.
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	mult := map[string]float64{"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "": 1}
	num := strings.TrimRight(s, "kmMGiK")
	f, err := strconv.ParseFloat(num, 64)
	m, ok := mult[s[len(num):]]
	if err != nil || !ok {
		t.Fatalf("cannot parse quantity %q", s)
	}
	return f * m
}

// goMemLimit parses GOMEMLIMIT's syntax: a byte count with B, KiB, MiB, GiB.
func goMemLimit(t *testing.T, s string) float64 {
	t.Helper()
	for suffix, m := range map[string]float64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				t.Fatalf("GOMEMLIMIT %q: %v", s, err)
			}
			return f * m
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "B"), 64)
	if err != nil {
		t.Fatalf("GOMEMLIMIT %q: want a size such as 230MiB", s)
	}
	return f
}

// effectiveEnv is what the pod's envFrom yields: ConfigMap data plus the
// example Secret's values. Both must hold only real SESSIOND_* variables,
// secrets only in the Secret, with no key in both.
func effectiveEnv(t *testing.T, cm configMap, sec secret) map[string]string {
	t.Helper()
	data := strMap(t, "ConfigMap data", cm.Data)
	sdata := strMap(t, "Secret stringData", sec.StringData)
	if len(sec.Data) > 0 {
		t.Error("the example Secret should use stringData (readable placeholders), not base64 data")
	}
	env := map[string]string{}
	for _, k := range sortedKeys(data) {
		if !isKnownEnv(k) {
			t.Errorf("ConfigMap key %s is not a variable sessiond reads", k)
		}
		if slices.Contains(secretEnv, k) {
			t.Errorf("ConfigMap key %s holds a secret: move it to the Secret", k)
		}
		env[k] = data[k]
	}
	for _, k := range sortedKeys(sdata) {
		if !isKnownEnv(k) {
			t.Errorf("Secret key %s is not a variable sessiond reads", k)
		}
		if _, dup := env[k]; dup {
			t.Errorf("%s is in both the ConfigMap and the Secret", k)
		}
		if !strings.Contains(sdata[k], "REPLACE_ME") {
			t.Errorf("Secret example %s = %q: example values must be REPLACE_ME placeholders", k, sdata[k])
		}
		env[k] = sdata[k]
	}
	return env
}

func TestK8sConfig(t *testing.T) {
	m := loadManifests(t)
	cm := one(t, "ConfigMap", m.configMaps)
	sec := one(t, "Secret", m.secrets)
	env := effectiveEnv(t, cm, sec)
	cfg := loadConfig(t, "deploy/k8s ConfigMap + example Secret", env)
	if cfg.DevStore() || cfg.DevTokens() {
		t.Error("the Kubernetes configuration must name a real Redis and a token secret or JWKS URL")
	}
	// Every variable is documented in the ConfigMap or the Secret example
	// (set, or commented out).
	text := readFile(t, "k8s/configmap.yaml") + readFile(t, "k8s/secret.example.yaml")
	for _, k := range knownEnv {
		if !strings.Contains(text, k) {
			t.Errorf("%s is mentioned in neither k8s/configmap.yaml nor k8s/secret.example.yaml", k)
		}
	}
	src := readFile(t, "k8s/secret.example.yaml")
	if !strings.Contains(src, "EXAMPLE") || !strings.Contains(src, "PLACEHOLDER") {
		t.Error("secret.example.yaml must say plainly that it is an example with placeholder values")
	}
	compose := readFile(t, filepath.Join(root, "docker-compose.yml"))
	for _, k := range knownEnv {
		if !strings.Contains(compose, k) && k != config.EnvRedisMode && k != config.EnvRedisAddrs &&
			k != config.EnvRedisMaster && k != config.EnvRedisPassword && k != config.EnvRedisTLS {
			t.Errorf("docker-compose.yml does not mention %s (set or commented)", k)
		}
	}
}

func TestK8sServicePDBHPA(t *testing.T) {
	m := loadManifests(t)
	d := one(t, "Deployment", m.deployments)
	podLabels := strMap(t, "pod labels", d.Spec.Template.Metadata.Labels)
	portNames := map[string]int{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		portNames[p.Name] = p.ContainerPort
	}

	s := one(t, "Service", m.services)
	if !selects(strMap(t, "Service selector", s.Spec.Selector), podLabels) {
		t.Errorf("Service selector %v does not match the pod labels %v", s.Spec.Selector, podLabels)
	}
	if len(s.Spec.Ports) == 0 {
		t.Fatal("Service has no ports")
	}
	for _, p := range s.Spec.Ports {
		if probePort(p.TargetPort, portNames) == 0 {
			t.Errorf("Service port %s targets %v, which is no container port", p.Name, p.TargetPort)
		}
	}

	p := one(t, "PodDisruptionBudget", m.pdbs)
	if p.APIVersion != "policy/v1" {
		t.Errorf("PodDisruptionBudget apiVersion %q, want policy/v1", p.APIVersion)
	}
	if !selects(strMap(t, "PDB selector", p.Spec.Selector.MatchLabels), podLabels) {
		t.Errorf("PDB selector %v does not match the pod labels %v", p.Spec.Selector.MatchLabels, podLabels)
	}
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		t.Error("PDB: set exactly one of minAvailable and maxUnavailable")
	}

	h := one(t, "HorizontalPodAutoscaler", m.hpas)
	if h.APIVersion != "autoscaling/v2" {
		t.Errorf("HPA apiVersion %q, want autoscaling/v2", h.APIVersion)
	}
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Metadata.Name {
		t.Errorf("HPA targets %+v, want apps/v1 Deployment %s", ref, d.Metadata.Name)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		t.Errorf("HPA replicas %v..%d: want min >= 2 and max >= min", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if min, err := strconv.Atoi(fmt.Sprint(p.Spec.MinAvailable)); err == nil && h.Spec.MinReplicas != nil && min >= *h.Spec.MinReplicas {
		t.Errorf("PDB minAvailable %d >= HPA minReplicas %d would block every drain", min, *h.Spec.MinReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		t.Error("HPA has no metrics")
	}
	for _, mt := range h.Spec.Metrics {
		if mt.Type == "Resource" && mt.Resource != nil {
			if _, ok := d.Spec.Template.Spec.Containers[0].Resources.Requests[mt.Resource.Name]; !ok {
				t.Errorf("HPA scales on %s utilization, which needs a %s request", mt.Resource.Name, mt.Resource.Name)
			}
		}
	}
}

func TestK8sKustomization(t *testing.T) {
	m := loadManifests(t)
	k := m.kustomization
	if k == nil {
		t.Fatal("deploy/k8s has no kustomization.yaml")
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", k.APIVersion, k.Kind)
	}
	var want []string
	for file := range m.files {
		if file != "kustomization.yaml" && file != "secret.example.yaml" {
			want = append(want, file)
		}
	}
	slices.Sort(want)
	got := slices.Clone(k.Resources)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, want every manifest except the example Secret: %v", got, want)
	}
	if slices.Contains(k.Resources, "secret.example.yaml") {
		t.Error("kustomization.yaml must not apply secret.example.yaml (placeholders)")
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join("k8s", r)); err != nil {
			t.Errorf("kustomization resource %s: %v", r, err)
		}
	}
	image := one(t, "Deployment", m.deployments).Spec.Template.Spec.Containers[0].Image
	if !slices.ContainsFunc(k.Images, func(i struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	}) bool {
		return i.Name == image && i.NewTag != "" && i.NewTag != "latest"
	}) {
		t.Errorf("kustomization images should set a pinned tag for %q", image)
	}
}

// TestClusterEnv runs deploy/cluster/sessiond.env through sessiond's
// validation.
func TestClusterEnv(t *testing.T) {
	env := parseEnvFile(t, "cluster/sessiond.env")
	env[config.EnvHS256Secret] = testSecret
	cfg := loadConfig(t, "deploy/cluster/sessiond.env", env)
	if cfg.RedisMode != config.ModeCluster || len(cfg.RedisAddrs) < 2 {
		t.Errorf("cluster/sessiond.env: mode %q with seeds %v; want cluster with several seeds", cfg.RedisMode, cfg.RedisAddrs)
	}
}
