package runtime

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Istio's standard metrics as its gateways report them (reporter="source"),
// with Istio's label names and bucket boundaries, so dashboards and alerts
// written for an Istio ingress gateway keep working. The registry is the
// Prometheus client library's: its exposition is what scrapers are tested
// against, and it brings the process and Go runtime collectors.

// istioLabels are the labels of Istio's standard HTTP metrics, in Istio's
// order.
var istioLabels = []string{
	"reporter",
	"source_workload", "source_canonical_service", "source_canonical_revision",
	"source_workload_namespace", "source_principal", "source_app", "source_version", "source_cluster",
	"destination_workload", "destination_workload_namespace", "destination_principal",
	"destination_app", "destination_version",
	"destination_service", "destination_canonical_service", "destination_canonical_revision",
	"destination_service_name", "destination_service_namespace", "destination_cluster",
	"request_protocol", "response_code", "grpc_response_status", "response_flags",
	"connection_security_policy",
}

// nStaticLabels is how many of istioLabels are fixed per cluster; the rest
// (request_protocol onwards) vary per request.
const nStaticLabels = 20

// tcpLabels are the labels of istio_tcp_*: the static ones plus
// response_flags and connection_security_policy.
var tcpLabels = append(append([]string{}, istioLabels[:nStaticLabels]...), "response_flags", "connection_security_policy")

// Istio's default bucket boundaries.
var (
	durationBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}
	bytesBuckets    = []float64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}
)

// metrics holds the registry and, per cluster, the label values prepared
// once and the series already created, so a request resolves its series
// with one lock-free map read and never builds a label string.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	reqBytes  *prometheus.HistogramVec
	respBytes *prometheus.HistogramVec

	tcpOpened, tcpClosed, tcpSent, tcpReceived *prometheus.CounterVec

	overflow  *prometheus.CounterVec
	connLimit *prometheus.CounterVec
	logDrops  prometheus.Counter
	// handovers counts socket handovers (listen_handover.go) by role
	// (handed_over, taken_over) and result (ok, aborted, refused).
	handovers *prometheus.CounterVec

	// dests[0] is for requests without a cluster; dests[i+1] is cluster i.
	dests []*destSeries
	ups   atomic.Pointer[[]*upstream]
}

// destSeries is one destination's prepared labels and series cache.
type destSeries struct {
	static []string // the first nStaticLabels label values
	name   string   // cluster name, "" for no cluster
	mu     sync.Mutex
	cache  atomic.Pointer[map[seriesKey]*series]
}

// seriesKey is what varies per request.
type seriesKey struct {
	code  int16
	grpc  int16 // -1 when not gRPC or no status
	flags respFlags
	grpcP bool // request_protocol "grpc" rather than "http"
}

type series struct {
	requests                      prometheus.Counter
	duration, reqBytes, respBytes prometheus.Observer
}

// newMetrics prepares the registry and the label values of every cluster of
// cfg; workload and namespace name the gateway itself (the source).
func newMetrics(cfg *Config, workload, namespace string) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "istio_requests_total", Help: "Requests handled, as Istio's standard metric.",
	}, istioLabels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "istio_request_duration_milliseconds", Help: "Request duration in milliseconds.", Buckets: durationBuckets,
	}, istioLabels)
	m.reqBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "istio_request_bytes", Help: "Request body sizes in bytes.", Buckets: bytesBuckets,
	}, istioLabels)
	m.respBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "istio_response_bytes", Help: "Response body sizes in bytes.", Buckets: bytesBuckets,
	}, istioLabels)
	tcp := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, tcpLabels)
	}
	m.tcpOpened = tcp("istio_tcp_connections_opened_total", "TCP connections opened.")
	m.tcpClosed = tcp("istio_tcp_connections_closed_total", "TCP connections closed.")
	m.tcpSent = tcp("istio_tcp_sent_bytes_total", "Bytes sent to the downstream on TCP connections.")
	m.tcpReceived = tcp("istio_tcp_received_bytes_total", "Bytes received from the downstream on TCP connections.")
	m.overflow = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "envoy_cluster_upstream_rq_pending_overflow", Help: "Requests refused by the cluster's circuit breaker (UO).",
	}, []string{"cluster_name"})
	m.connLimit = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "envoy_listener_downstream_cx_overflow", Help: "Connections refused because the listener was at --max-connections.",
	}, []string{"listener_address"})
	m.logDrops = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gwc_access_log_dropped_total", Help: "Access-log lines dropped because the writer fell behind or failed.",
	})
	m.handovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gwc_handovers_total", Help: "Listening-socket handovers between two ingress processes, by this process's role and the result.",
	}, []string{"role", "result"})
	m.reg.MustRegister(m.handovers)
	m.reg.MustRegister(m.requests, m.duration, m.reqBytes, m.respBytes,
		m.tcpOpened, m.tcpClosed, m.tcpSent, m.tcpReceived,
		m.overflow, m.connLimit, m.logDrops, clusterCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerPluginMetrics(m.reg, cfg)
	registerDiscoveryMetrics(m.reg, cfg)
	registerTracingMetrics(m.reg, cfg)

	m.dests = append(m.dests, newDestSeries("", workload, namespace))
	for i := range cfg.Clusters {
		m.dests = append(m.dests, newDestSeries(cfg.Clusters[i].Name, workload, namespace))
	}
	return m
}

// newDestSeries prepares the static labels for cluster (empty for none).
func newDestSeries(cluster, workload, namespace string) *destSeries {
	svc, name, ns := destinationOf(cluster)
	d := &destSeries{name: cluster, static: []string{
		"source",
		workload, workload, "latest",
		namespace, "unknown", workload, "unknown", "unknown",
		"unknown", "unknown", "unknown",
		"unknown", "unknown",
		svc, name, "latest",
		name, ns, "unknown",
	}}
	empty := map[seriesKey]*series{}
	d.cache.Store(&empty)
	return d
}

// destinationOf derives Istio's destination_service, _service_name and
// _service_namespace from an Envoy cluster name
// ("outbound|8080||webapp.istioinaction.svc.cluster.local"). A Kubernetes
// service host gives name and namespace; any other host (a ServiceEntry) is
// its own name, its namespace unknown.
func destinationOf(cluster string) (svc, name, ns string) {
	if cluster == "" {
		return "unknown", "unknown", "unknown"
	}
	host := cluster[strings.LastIndexByte(cluster, '|')+1:]
	if host == "" {
		return "unknown", "unknown", "unknown"
	}
	parts := strings.Split(host, ".")
	if len(parts) >= 3 && parts[2] == "svc" {
		return host, parts[0], parts[1]
	}
	return host, host, "unknown"
}

// get returns the series for k, creating it on first use.
func (d *destSeries) get(m *metrics, k seriesKey) *series {
	if s := (*d.cache.Load())[k]; s != nil {
		return s
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.cache.Load()
	if s := old[k]; s != nil {
		return s
	}
	proto := "http"
	if k.grpcP {
		proto = "grpc"
	}
	grpc := ""
	if k.grpc >= 0 {
		grpc = strconv.Itoa(int(k.grpc))
	}
	lv := append(append([]string{}, d.static...), proto, strconv.Itoa(int(k.code)), grpc, k.flags.String(), "unknown")
	s := &series{
		requests:  m.requests.WithLabelValues(lv...),
		duration:  m.duration.WithLabelValues(lv...),
		reqBytes:  m.reqBytes.WithLabelValues(lv...),
		respBytes: m.respBytes.WithLabelValues(lv...),
	}
	next := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = s
	d.cache.Store(&next)
	return s
}

// observe records one finished request.
func (m *metrics) observe(x *exchange, r *http.Request, ms float64) {
	d := m.dests[0]
	if x.cluster >= 0 && x.cluster+1 < len(m.dests) {
		d = m.dests[x.cluster+1]
	}
	k := seriesKey{code: int16(x.status), grpc: -1, flags: x.flags}
	if ct := r.Header["Content-Type"]; len(ct) > 0 && strings.HasPrefix(ct[0], "application/grpc") {
		k.grpcP = true
		k.grpc = grpcStatus(x.w.Header())
	}
	s := d.get(m, k)
	s.requests.Inc()
	s.duration.Observe(ms)
	s.reqBytes.Observe(float64(x.body.n.Load()))
	s.respBytes.Observe(float64(x.bytesSent))
	if x.flags&flagUO != 0 && d.name != "" {
		m.overflow.WithLabelValues(d.name).Inc()
	}
}

// grpcStatus reads grpc-status from the response headers or trailers.
func grpcStatus(h http.Header) int16 {
	v := h["Grpc-Status"]
	if len(v) == 0 {
		v = h[http.TrailerPrefix+"Grpc-Status"]
	}
	if len(v) == 0 {
		return -1
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 || n > 99 {
		return -1
	}
	return int16(n)
}

// tcpSeries are the istio_tcp_* counters of one destination, for TCP
// listeners to add to.
type tcpSeries struct {
	Opened, Closed, Sent, Received prometheus.Counter
}

// tcp returns the istio_tcp_* counters for cluster (an index into
// Config.Clusters, -1 for none) with the given response flags.
func (m *metrics) tcp(cluster int, flags respFlags) tcpSeries {
	d := m.dests[0]
	if cluster >= 0 && cluster+1 < len(m.dests) {
		d = m.dests[cluster+1]
	}
	lv := append(append([]string{}, d.static...), flags.String(), "unknown")
	return tcpSeries{
		Opened:   m.tcpOpened.WithLabelValues(lv...),
		Closed:   m.tcpClosed.WithLabelValues(lv...),
		Sent:     m.tcpSent.WithLabelValues(lv...),
		Received: m.tcpReceived.WithLabelValues(lv...),
	}
}

// clusterCollector reports each cluster's endpoints at scrape time, as
// Envoy's cluster membership gauges.
type clusterCollector struct{ m *metrics }

var (
	descMembershipTotal = prometheus.NewDesc("envoy_cluster_membership_total",
		"Endpoints of the cluster.", []string{"cluster_name"}, nil)
	descMembershipHealthy = prometheus.NewDesc("envoy_cluster_membership_healthy",
		"Endpoints of the cluster not ejected by outlier detection.", []string{"cluster_name"}, nil)
	descMirrorDropped = prometheus.NewDesc("gwc_mirror_requests_dropped_total",
		"Mirror copies to the cluster dropped: reason limit (--max-mirror-requests in flight) or overflow (the cluster's circuit breaker).",
		[]string{"cluster_name", "reason"}, nil)
)

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descMembershipTotal
	ch <- descMembershipHealthy
	ch <- descMirrorDropped
	for _, d := range breakerDescs {
		ch <- d
	}
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	ups := c.m.ups.Load()
	if ups == nil {
		return
	}
	for _, up := range *ups {
		n := float64(len(up.current()))
		ch <- prometheus.MustNewConstMetric(descMembershipTotal, prometheus.GaugeValue, n, up.cluster.Name)
		ch <- prometheus.MustNewConstMetric(descMembershipHealthy, prometheus.GaugeValue, float64(up.healthyCount(len(up.current()))), up.cluster.Name)
		up.cb.collect(ch, up.cluster.Name)
		for r, name := range mirrorDropNames {
			ch <- prometheus.MustNewConstMetric(descMirrorDropped, prometheus.CounterValue, float64(up.mirrorDrops[r].Load()), up.cluster.Name, name)
		}
	}
}

// handler serves the exposition (text, or what the scraper negotiates).
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
