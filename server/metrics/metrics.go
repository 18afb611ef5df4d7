// Package metrics exports the chat server's Prometheus metrics: the chat's
// own (clients, rooms, messages, drops, disconnects by status code), the
// connection limit's, and, registered beside them by the server, the gRPC
// server metrics of go-grpc-middleware's Prometheus provider.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"

	"github.com/polychat/polychat/server/chat"
	"github.com/polychat/polychat/server/limits"
)

// Namespace prefixes every metric of this package.
const Namespace = "polychat"

// Chat holds the chat and connection metrics. It implements chat.Metrics,
// limits.ConnHooks and prometheus.Collector.
type Chat struct {
	connected   prometheus.Gauge
	rooms       prometheus.Gauge
	received    prometheus.Counter
	sent        prometheus.Counter
	slow        prometheus.Counter
	paced       prometheus.Counter
	rateLimited prometheus.Counter
	disconnects *prometheus.CounterVec
	byCode      [codes.Unauthenticated + 1]prometheus.Counter

	noticesHeld  prometheus.Counter
	roomsRefused *prometheus.CounterVec
	roomsExpired prometheus.Counter
	filesExpired prometheus.Counter

	dropped       prometheus.Counter
	resumed       prometheus.Counter
	resumeRefused *prometheus.CounterVec
	graceExpired  prometheus.Counter

	connsOpen          prometheus.Gauge
	connsRejected      prometheus.Counter
	connsRejectedPerIP prometheus.Counter
	handshakeTimeouts  prometheus.Counter
	idleClosed         prometheus.Counter
	streamsRefused     *prometheus.CounterVec
}

var (
	_ chat.Metrics         = (*Chat)(nil)
	_ limits.ConnHooks     = (*Chat)(nil)
	_ limits.StreamHooks   = (*Chat)(nil)
	_ prometheus.Collector = (*Chat)(nil)
)

// NewChat returns the metrics, all at zero. Register it on a registry.
func NewChat() *Chat {
	g := func(sub, name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
	}
	c := func(sub, name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
	}
	m := &Chat{
		connected:   g("chat", "connected_clients", "Chat streams currently joined to a room."),
		rooms:       g("chat", "rooms", "Rooms with at least one member."),
		received:    c("chat", "messages_received_total", "Text messages received from clients and relayed to their room."),
		sent:        c("chat", "messages_sent_total", "Messages sent to clients: text, notices and history."),
		slow:        c("chat", "slow_client_drops_total", "Clients disconnected because they did not read fast enough."),
		paced:       c("chat", "senders_paced_total", "Texts whose sender waited because more than a fiftieth of its room's members were behind (the server could not keep up)."),
		rateLimited: c("chat", "rate_limited_total", "Clients disconnected because they sent faster than the rate limit."),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "chat", Name: "disconnects_total",
			Help: "Chat streams ended (rejected ones included), by gRPC status code.",
		}, []string{"code"}),
		noticesHeld: c("chat", "notices_held_back_total", "Join and leave notices not sent one by one because their room was over -notice-rate; they are summed up instead."),
		roomsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "chat", Name: "rooms_refused_total",
			Help: "Joins refused because they would create a room over a limit, by limit (max_rooms, max_rooms_per_ip).",
		}, []string{"limit"}),
		roomsExpired: c("chat", "rooms_expired_total", "Empty rooms whose history was deleted after -room-retention."),
		filesExpired: c("chat", "files_expired_total", "Shared files deleted after -file-retention, or with their room's history."),
		dropped:      c("chat", "members_dropped_total", "Members whose stream ended without a leave; their names are kept for -resume-grace."),
		resumed:      c("chat", "resumes_total", "Streams that resumed a membership (name kept, no leave/join notices)."),
		resumeRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "chat", Name: "resumes_refused_total",
			Help: "Streams that asked to resume and joined as new members (or were refused), by reason (expired, store_reset, other_room, other_user, resume_off).",
		}, []string{"reason"}),
		graceExpired:       c("chat", "grace_expired_total", "Dropped members whose -resume-grace ended without a resume (the room is told they left)."),
		connsOpen:          g("server", "connections_open", "Client connections open."),
		connsRejected:      c("server", "connections_rejected_total", "Client connections closed at once because -max-connections were open."),
		connsRejectedPerIP: c("server", "connections_rejected_per_ip_total", "Client connections closed at once because -max-connections-per-ip were open from their address."),
		handshakeTimeouts:  c("server", "handshake_timeouts_total", "Client connections closed because they did not finish their handshake within -handshake-timeout."),
		idleClosed:         c("server", "idle_connections_closed_total", "Client connections closed after -idle-timeout without a stream."),
		streamsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "server", Name: "streams_refused_total",
			Help: "Chat streams refused for opening too fast, by limit (connection_rate, ip_rate).",
		}, []string{"limit"}),
	}
	for _, l := range []string{chat.LimitMaxRooms, chat.LimitMaxRoomsPerIP} {
		m.roomsRefused.WithLabelValues(l)
	}
	for _, r := range []string{chat.ResumeUnknown, chat.ResumeStoreReset, chat.ResumeOtherRoom, chat.ResumeOtherUser, chat.ResumeOff} {
		m.resumeRefused.WithLabelValues(r)
	}
	for _, l := range []string{limits.ReasonConnection, limits.ReasonIP} {
		m.streamsRefused.WithLabelValues(l)
	}
	for code := range m.byCode {
		m.byCode[code] = m.disconnects.WithLabelValues(codes.Code(code).String())
	}
	return m
}

func (m *Chat) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connected, m.rooms, m.received, m.sent, m.slow, m.paced, m.rateLimited, m.disconnects,
		m.noticesHeld, m.roomsRefused, m.roomsExpired, m.filesExpired, m.dropped, m.resumed, m.resumeRefused, m.graceExpired,
		m.connsOpen, m.connsRejected, m.connsRejectedPerIP, m.handshakeTimeouts, m.idleClosed, m.streamsRefused}
}

// Describe implements prometheus.Collector.
func (m *Chat) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Chat) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// ClientJoined implements chat.Metrics.
func (m *Chat) ClientJoined() { m.connected.Inc() }

// ClientLeft implements chat.Metrics.
func (m *Chat) ClientLeft() { m.connected.Dec() }

// RoomOpened implements chat.Metrics.
func (m *Chat) RoomOpened() { m.rooms.Inc() }

// RoomClosed implements chat.Metrics.
func (m *Chat) RoomClosed() { m.rooms.Dec() }

// MessageReceived implements chat.Metrics.
func (m *Chat) MessageReceived() { m.received.Inc() }

// MessageSent implements chat.Metrics.
func (m *Chat) MessageSent() { m.sent.Inc() }

// SlowClientDropped implements chat.Metrics.
func (m *Chat) SlowClientDropped() { m.slow.Inc() }

// SenderPaced implements chat.Metrics.
func (m *Chat) SenderPaced() { m.paced.Inc() }

// RateLimited implements chat.Metrics.
func (m *Chat) RateLimited() { m.rateLimited.Inc() }

// StreamEnded implements chat.Metrics.
func (m *Chat) StreamEnded(code codes.Code) {
	if int(code) < len(m.byCode) {
		m.byCode[code].Inc()
		return
	}
	m.disconnects.WithLabelValues(code.String()).Inc()
}

// ConnOpened implements limits.ConnHooks.
func (m *Chat) ConnOpened() { m.connsOpen.Inc() }

// ConnClosed implements limits.ConnHooks.
func (m *Chat) ConnClosed() { m.connsOpen.Dec() }

// ConnRejected implements limits.ConnHooks.
func (m *Chat) ConnRejected() { m.connsRejected.Inc() }

// NoticesHeldBack implements chat.Metrics.
func (m *Chat) NoticesHeldBack() { m.noticesHeld.Inc() }

// RoomRefused implements chat.Metrics.
func (m *Chat) RoomRefused(limit string) { m.roomsRefused.WithLabelValues(limit).Inc() }

// RoomExpired implements chat.Metrics.
func (m *Chat) RoomExpired() { m.roomsExpired.Inc() }

// FileExpired implements chat.Metrics.
func (m *Chat) FileExpired() { m.filesExpired.Inc() }

// MemberDropped implements chat.Metrics.
func (m *Chat) MemberDropped() { m.dropped.Inc() }

// MemberResumed implements chat.Metrics.
func (m *Chat) MemberResumed() { m.resumed.Inc() }

// ResumeRefused implements chat.Metrics.
func (m *Chat) ResumeRefused(reason string) { m.resumeRefused.WithLabelValues(reason).Inc() }

// GraceExpired implements chat.Metrics.
func (m *Chat) GraceExpired() { m.graceExpired.Inc() }

// ConnRejectedPerIP implements limits.ConnHooks.
func (m *Chat) ConnRejectedPerIP() { m.connsRejectedPerIP.Inc() }

// HandshakeTimedOut implements limits.ConnHooks.
func (m *Chat) HandshakeTimedOut() { m.handshakeTimeouts.Inc() }

// IdleClosed implements limits.StreamHooks.
func (m *Chat) IdleClosed() { m.idleClosed.Inc() }

// StreamRefused implements limits.StreamHooks.
func (m *Chat) StreamRefused(limit string) { m.streamsRefused.WithLabelValues(limit).Inc() }

// Handler serves reg's metrics in the Prometheus exposition format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
