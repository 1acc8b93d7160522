package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bugflow/bugflow/bugs"
)

// metrics are the server's Prometheus instruments. Each Server has its own
// registry (unless one is given), so several servers in one process, as in
// tests, never collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, intake func() bugs.IntakeStats) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bugflow_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bugflow_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bugflow_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, intakeCollector{stats: intake})
	return m
}

// intakeCollector exports the group commit of bug intake (bugs.Service.Auto)
// from its counters at each scrape, so that the intake path pays nothing for
// metrics.
type intakeCollector struct {
	stats func() bugs.IntakeStats
}

var (
	intakeQueueDesc = prometheus.NewDesc("bugflow_bug_intake_queue_length",
		"Captured error occurrences accepted and waiting for their batch to commit.", nil, nil)
	intakeBatchDesc = prometheus.NewDesc("bugflow_bug_intake_batch_size",
		"Occurrences per batch (one transaction) written by bug intake.", nil, nil)
	intakeRefusedDesc = prometheus.NewDesc("bugflow_bug_intake_refused_total",
		"Occurrences refused with 503 because the intake queue was full, by source.", []string{"source"}, nil)
	intakeFailedDesc = prometheus.NewDesc("bugflow_bug_intake_failed_batches_total",
		"Intake transactions that did not commit; their callers got an error.", nil, nil)
)

func (c intakeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- intakeQueueDesc
	ch <- intakeBatchDesc
	ch <- intakeRefusedDesc
	ch <- intakeFailedDesc
}

func (c intakeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(intakeQueueDesc, prometheus.GaugeValue, float64(st.Queued))
	buckets := make(map[float64]uint64, len(bugs.BatchSizeBuckets))
	var cumulative uint64
	for i, le := range bugs.BatchSizeBuckets {
		cumulative += st.BatchSizes[i]
		buckets[float64(le)] = cumulative
	}
	ch <- prometheus.MustNewConstHistogram(intakeBatchDesc, st.Batches, float64(st.Occurrences), buckets)
	for _, src := range []bugs.Source{bugs.SourceAutoServer, bugs.SourceAutoClient, bugs.SourceAutoAgent} {
		ch <- prometheus.MustNewConstMetric(intakeRefusedDesc, prometheus.CounterValue, float64(st.Refused[src]), string(src))
	}
	ch <- prometheus.MustNewConstMetric(intakeFailedDesc, prometheus.CounterValue, float64(st.FailedBatches))
}

func (m *metrics) observe(method, route string, status int, elapsed time.Duration) {
	if !knownMethods[method] {
		method = "OTHER" // bound cardinality: methods are client input
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
