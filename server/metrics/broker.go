package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polychat/polychat/server/broker"
)

// Broker holds the metrics of the chat server's link to NATS JetStream:
// how long storing takes, how far behind the stream this node delivers,
// whether NATS is reachable and how many records wait for this node. It
// implements broker.Observer and prometheus.Collector.
type Broker struct {
	stored      prometheus.Histogram
	storeFailed prometheus.Counter
	lag         prometheus.Histogram
	connected   prometheus.GaugeFunc
	pending     prometheus.GaugeFunc

	source atomic.Pointer[broker.Broker]
}

var (
	_ broker.Observer      = (*Broker)(nil)
	_ prometheus.Collector = (*Broker)(nil)
)

// brokerBuckets spans an in-process store (a few hundred microseconds) to
// a NATS cluster in trouble (seconds).
var brokerBuckets = []float64{0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewBroker returns the broker metrics. Pass it as the broker's Observer,
// then Watch the broker it opened; register it on a registry.
func NewBroker() *Broker {
	m := &Broker{
		stored: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "broker", Name: "store_seconds", Buckets: brokerBuckets,
			Help: "Time JetStream took to store and acknowledge a record (a batch of texts, a notice).",
		}),
		storeFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "broker", Name: "store_failures_total",
			Help: "Records JetStream did not store (NATS unreachable or refusing); their senders were told UNAVAILABLE.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "broker", Name: "delivery_lag_seconds", Buckets: brokerBuckets,
			Help: "Time from a record being stored to its reaching this chat server (cross-node latency, on a cluster).",
		}),
	}
	m.connected = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "broker", Name: "connected",
		Help: "1 while NATS is reachable, 0 while it is not (the server then answers UNAVAILABLE).",
	}, func() float64 {
		if b := m.source.Load(); b != nil && b.Connected() {
			return 1
		}
		return 0
	})
	m.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "broker", Name: "pending_records",
		Help: "Records of the rooms this server follows that are stored but not yet delivered to it: its lag behind the stream.",
	}, func() float64 {
		if b := m.source.Load(); b != nil {
			return float64(b.Pending())
		}
		return 0
	})
	return m
}

// Watch has the gauges read b.
func (m *Broker) Watch(b *broker.Broker) { m.source.Store(b) }

// Stored implements broker.Observer.
func (m *Broker) Stored(d time.Duration, err error) {
	if err != nil {
		m.storeFailed.Inc()
		return
	}
	m.stored.Observe(d.Seconds())
}

// Delivered implements broker.Observer.
func (m *Broker) Delivered(lag time.Duration) { m.lag.Observe(max(lag, 0).Seconds()) }

func (m *Broker) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.stored, m.storeFailed, m.lag, m.connected, m.pending}
}

// Describe implements prometheus.Collector.
func (m *Broker) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Broker) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}
