// Package metrics holds sessiond's Prometheus metrics. Every label is drawn
// from a bounded set (route templates, methods, statuses, Redis command
// names, revocation reasons): never a session, user or tenant id.
// A nil *Metrics is valid and records nothing, so tests and tools can leave
// metrics out.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const ns = "sessiond"

// Metrics is the set of sessiond's collectors, in its own registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	redisDur    *prometheus.HistogramVec
	redisErrors *prometheus.CounterVec
	revocations *prometheus.CounterVec
	eventLag    prometheus.Histogram
	sweeps      *prometheus.CounterVec
	pruned      prometheus.Counter
	storeFull   prometheus.Counter
	limits      *prometheus.CounterVec
	pushes      *prometheus.CounterVec
	pushRetries *prometheus.CounterVec
	pushLag     *prometheus.HistogramVec
	// The children of the per-request and per-command vectors, resolved
	// once per label set: WithLabelValues hashes its labels and formats
	// the status on every call.
	reqChildren   children[requestLabels, requestObservers]
	redisChildren children[string, prometheus.Observer]
}

type requestLabels struct {
	route, method string
	status        int
}

type requestObservers struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

// children caches the children of metric vectors by label set. Label sets
// are bounded (see the package comment), and so is the map.
type children[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *children[K, V]) get(k K, mk func(K) V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	if c.m == nil {
		c.m = make(map[K]V)
	}
	v = mk(k)
	c.m[k] = v
	return v
}

// New builds the metrics, with Go runtime, process and build information.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "http_requests_total", Help: "HTTP requests by route template, method and status.",
	}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Name: "http_requests_in_flight", Help: "HTTP requests being served (event streams included).",
	})
	m.redisDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "redis_command_duration_seconds", Help: "Redis command (or pipeline) latency by command name.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"command"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "redis_errors_total", Help: "Redis commands that failed (redis.Nil is no failure), by command name.",
	}, []string{"command"})
	m.revocations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "revocations_total", Help: "Sessions revoked, by reason.",
	}, []string{"reason"})
	m.eventLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: ns, Name: "event_delivery_lag_seconds", Help: "Time from a revocation to its event being written to a follower.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300},
	})
	m.sweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "sweeps_total", Help: "Background index sweeps, by result (ok, error).",
	}, []string{"result"})
	m.pruned = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "sweep_pruned_total", Help: "Expired index members the sweeps removed.",
	})
	m.storeFull = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "store_full_total",
		Help: "Writes that add data refused because Redis is at maxmemory (answered 503).",
	})
	m.limits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "session_limit_total",
		Help: "Creates at a tenant's max_sessions_per_user, by outcome: evicted (sessions evicted) or refused (creates refused).",
	}, []string{"outcome"})
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "push_deliveries_total",
		Help: "Revocations pushed to receivers, by kind and result: delivered, or failed (past the retries; kept for redelivery).",
	}, []string{"kind", "result"})
	m.pushRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "push_retries_total", Help: "Push attempts that failed and were retried, by kind.",
	}, []string{"kind"})
	m.pushLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "push_lag_seconds",
		Help:    "From a revocation to its receiver's 2xx, by kind.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"kind"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Name: "build_info", Help: "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.redisDur, m.redisErrors, m.revocations,
		m.eventLag, m.sweeps, m.pruned, m.storeFull, m.limits, m.pushes, m.pushRetries, m.pushLag, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the metrics live (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one finished HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	o := m.reqChildren.get(requestLabels{route, boundedMethod(method), status}, m.newRequestObservers)
	o.count.Inc()
	o.dur.Observe(d.Seconds())
}

func (m *Metrics) newRequestObservers(l requestLabels) requestObservers {
	return requestObservers{
		count: m.requests.WithLabelValues(l.route, l.method, strconv.Itoa(l.status)),
		dur:   m.duration.WithLabelValues(l.route, l.method),
	}
}

// boundedMethod keeps the method label to a fixed set: a client may send
// any token as its method.
func boundedMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// InFlight adds delta to the requests being served.
func (m *Metrics) InFlight(delta float64) {
	if m != nil {
		m.inFlight.Add(delta)
	}
}

// ObserveRedis records one Redis command or pipeline.
func (m *Metrics) ObserveRedis(command string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.redisChildren.get(command, m.newRedisObserver).Observe(d.Seconds())
	if failed {
		// Rare: the series appears with the first failure, as it always has.
		m.redisErrors.WithLabelValues(command).Inc()
	}
}

func (m *Metrics) newRedisObserver(command string) prometheus.Observer {
	return m.redisDur.WithLabelValues(command)
}

// Revoked counts n sessions revoked for reason.
func (m *Metrics) Revoked(reason string, n int) {
	if m != nil && n > 0 {
		m.revocations.WithLabelValues(reason).Add(float64(n))
	}
}

// SessionLimit counts what a tenant's session limit did: n sessions
// evicted, or (refused) one create refused.
func (m *Metrics) SessionLimit(refused bool, evicted int) {
	switch {
	case m == nil:
	case refused:
		m.limits.WithLabelValues("refused").Inc()
	case evicted > 0:
		m.limits.WithLabelValues("evicted").Add(float64(evicted))
	}
}

// Delivered counts one push delivered, lag after its revocation (it makes
// *Metrics a push.Observer).
func (m *Metrics) Delivered(kind string, lag time.Duration) {
	if m != nil {
		m.pushes.WithLabelValues(kind, "delivered").Inc()
		m.pushLag.WithLabelValues(kind).Observe(lag.Seconds())
	}
}

// Retried counts one failed push attempt that will be tried again.
func (m *Metrics) Retried(kind string) {
	if m != nil {
		m.pushRetries.WithLabelValues(kind).Inc()
	}
}

// Failed counts one push that failed past its retries.
func (m *Metrics) Failed(kind string) {
	if m != nil {
		m.pushes.WithLabelValues(kind, "failed").Inc()
	}
}

// StoreFull counts one write refused because Redis is out of memory.
func (m *Metrics) StoreFull() {
	if m == nil {
		return
	}
	m.storeFull.Inc()
}

// EventDelivered records how long after its revocation an event reached a
// follower.
func (m *Metrics) EventDelivered(lag time.Duration) {
	if m != nil {
		m.eventLag.Observe(lag.Seconds())
	}
}

// Swept records one background sweep.
func (m *Metrics) Swept(err error, pruned int64) {
	if m == nil {
		return
	}
	if err != nil {
		m.sweeps.WithLabelValues("error").Inc()
		return
	}
	m.sweeps.WithLabelValues("ok").Inc()
	m.pruned.Add(float64(pruned))
}

// Followers exposes the number of live event-stream followers.
func (m *Metrics) Followers(count func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Name: "event_followers", Help: "Live followers of the revocation event stream.",
	}, func() float64 { return float64(count()) }))
}

// PoolStats is what the Redis connection pool reports.
type PoolStats struct {
	Hits, Misses, Timeouts uint32
	TotalConns, IdleConns  uint32
}

// Pool exposes the Redis connection pool's statistics.
func (m *Metrics) Pool(stats func() PoolStats) {
	m.reg.MustRegister(&poolCollector{stats: stats})
}

type poolCollector struct{ stats func() PoolStats }

var (
	poolHits     = prometheus.NewDesc(ns+"_redis_pool_hits_total", "Times a free connection was found in the pool.", nil, nil)
	poolMisses   = prometheus.NewDesc(ns+"_redis_pool_misses_total", "Times no free connection was in the pool.", nil, nil)
	poolTimeouts = prometheus.NewDesc(ns+"_redis_pool_timeouts_total", "Times waiting for a connection timed out.", nil, nil)
	poolConns    = prometheus.NewDesc(ns+"_redis_pool_connections", "Connections in the pool, by state.", []string{"state"}, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolHits
	ch <- poolMisses
	ch <- poolTimeouts
	ch <- poolConns
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.stats()
	ch <- prometheus.MustNewConstMetric(poolHits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(poolMisses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(poolTimeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.TotalConns), "total")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns), "idle")
}
