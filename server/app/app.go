// Package app assembles the chat server: the chat service with health and
// reflection on one gRPC server, with TLS or mutual TLS, sign-in through the
// AuthService, abuse limits, request logging and Prometheus metrics, as
// package config describes them. server/main.go only parses the flags and
// runs it.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	loggerv1 "github.com/polychat/polychat/gen/go/polychat/logger/v1"
	"github.com/polychat/polychat/internal/tlsconfig"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/chat"
	"github.com/polychat/polychat/server/config"
	"github.com/polychat/polychat/server/filegrant"
	"github.com/polychat/polychat/server/limits"
	"github.com/polychat/polychat/server/metrics"
	"github.com/polychat/polychat/server/moderation"
	"github.com/polychat/polychat/server/signin"
	"github.com/polychat/polychat/server/upgrade"
	"github.com/polychat/polychat/server/web"
)

// maxRecvBytes bounds one incoming message. It is well above the text limit
// so that an over-long text gets the readable INVALID_ARGUMENT from the chat
// service rather than a bare transport error.
const maxRecvBytes = 64 << 10

// Keepalive policy. Chat clients sit idle for long periods: allow their
// keepalive pings (at most one per KeepaliveMinTime, the lowest gRPC clients
// allow, even with no open stream); a client pinging more often is sent
// GOAWAY "too_many_pings" and disconnected. The server pings silent
// connections itself to find dead peers.
const (
	KeepaliveMinTime = 10 * time.Second
	keepaliveTime    = time.Minute
	keepaliveTimeout = 20 * time.Second
)

// handlingBuckets are the RPC latency histogram's buckets, in seconds: chat
// streams last minutes or hours, health checks milliseconds.
var handlingBuckets = []float64{0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 14400}

// ListenError reports that the server could not listen on its address.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// Server is an assembled chat server, listening but not yet serving.
type Server struct {
	cfg    config.Config
	log    *slog.Logger
	broker *broker.Broker
	grpc   *grpc.Server
	health *health.Server
	chat   *chat.Service
	lis    net.Listener

	authConn *grpc.ClientConn
	registry *prometheus.Registry
	metLis   net.Listener
	metSrv   *http.Server
	prof     *profiler   // nil unless -pprof-addr is set
	web      *web.Server // nil when the page is off

	// moderation is the moderation log, beside the rooms in NATS; audit
	// delivers its events to LoggerService (nil without -logger-server).
	moderation *moderation.Shared
	audit      *moderation.Sender
	loggerConn *grpc.ClientConn
	// dataLock holds -data-dir for this server alone while it runs.
	dataLock *os.File
}

// New builds the server cfg describes and starts listening on cfg.Addr
// (a *ListenError when it cannot) and, if it can, on cfg.MetricsAddr and
// cfg.WebAddr; the chat works without metrics and without the page. Call
// Run to serve, and Close afterwards.
func New(cfg config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	var (
		creds     credentials.TransportCredentials
		serverTLS *tls.Config
	)
	if cfg.TLS() {
		if serverTLS, err = tlsconfig.Server(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA); err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(serverTLS)
	}

	var (
		authn        chat.Authenticator
		signInClient authv1.AuthServiceClient // for the page's sign-in
	)
	if cfg.AuthServer != "" {
		opts := tlsconfig.ClientOptions{CAFile: cfg.AuthCA, CertFile: cfg.AuthCert, KeyFile: cfg.AuthKey}
		if s.authConn, err = dialService("auth", cfg.AuthServer, opts); err != nil {
			return nil, err
		}
		ttl := cfg.AuthCacheTTL
		if ttl == 0 {
			ttl = -1 // no caching
		}
		signInClient = authv1.NewAuthServiceClient(s.authConn)
		authn = signin.NewChecker(signInClient, signin.Options{TTL: ttl, Logger: log})
	}

	fileKey := cfg.FileKey // CHAT_FILE_KEY; config refuses it with a key file
	if cfg.FileKeyFile != "" {
		if fileKey, err = filegrant.ReadKeyFile(cfg.FileKeyFile); err != nil {
			return nil, fmt.Errorf("-file-key-file: %w", err)
		}
	}

	var (
		chatMetrics *metrics.Chat
		observer    broker.Observer // the broker's metrics, if any
		brokerStats *metrics.Broker
		srvMetrics  *grpcprom.ServerMetrics
		unary       []grpc.UnaryServerInterceptor
		stream      []grpc.StreamServerInterceptor
	)
	if cfg.MetricsAddr != "" {
		chatMetrics = metrics.NewChat()
		brokerStats = metrics.NewBroker()
		observer = brokerStats
		srvMetrics = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(handlingBuckets)))
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(chatMetrics, brokerStats, srvMetrics,
			collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		unary = append(unary, srvMetrics.UnaryServerInterceptor())
		stream = append(stream, srvMetrics.StreamServerInterceptor())
	}
	// Listening first: a server whose address is taken stops before it
	// starts NATS.
	if s.lis, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, &ListenError{Addr: cfg.Addr, Err: err}
	}

	if s.dataLock, err = useDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	// A chat.db of an older version is imported once; the broker's stream
	// is created with its epoch, so that what clients hold stays good.
	old, err := upgrade.Find(cfg.DataDir, cfg.History, log)
	if err != nil {
		return nil, err
	}
	epoch := ""
	if old != nil {
		epoch = old.Epoch()
	}
	if s.broker, err = openBroker(cfg, epoch, observer, log); err != nil {
		if old != nil {
			old.Close()
		}
		return nil, err
	}
	if brokerStats != nil {
		brokerStats.Watch(s.broker)
	}
	if old != nil {
		ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
		err := old.Into(ctx, s.broker)
		cancel()
		if err != nil {
			// The server goes on with what NATS has; the file stays, and
			// the next start tries again.
			log.Error("cannot import the history of an older version", "err", err)
		}
	}

	if s.moderation, err = openModeration(s.broker, log); err != nil {
		return nil, err
	}
	if cfg.LoggerServer != "" {
		opts := tlsconfig.ClientOptions{CAFile: cfg.LoggerCA, CertFile: cfg.LoggerCert, KeyFile: cfg.LoggerKey}
		if s.loggerConn, err = dialService("logger", cfg.LoggerServer, opts); err != nil {
			return nil, err
		}
		s.audit = moderation.NewSender(s.moderation, loggerv1.NewLoggerServiceClient(s.loggerConn),
			s.moderation.Epoch(), cfg.LoggerWriteKey, log)
	}

	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	unary = append(unary, logging.UnaryServerInterceptor(requestLogger(log), logOpts...))
	stream = append(stream, streamRequestLog(requestLogger(log)))

	chatCfg := chat.Config{
		MaxMessageBytes: cfg.MaxMessageBytes,
		MaxNameBytes:    cfg.MaxNameBytes,
		QueueSize:       cfg.QueueSize,
		Broker:          s.broker,
		History:         cfg.History,
		HistoryBytes:    cfg.HistoryBytes,
		Logger:          log,
		Auth:            authn,
		Rate:            cfg.Rate,
		Burst:           cfg.Burst,
		NoticeRate:      cfg.NoticeRate,
		NoticeBurst:     cfg.NoticeBurst,
		BigRoom:         cfg.BigRoom,
		BigRoomSummary:  cfg.BigRoomSummary,
		MaxRooms:        cfg.MaxRooms,
		MaxRoomsPerIP:   cfg.MaxRoomsPerIP,
		RoomRetention:   cfg.RoomRetention,
		ResumeGrace:     cfg.ResumeGrace,
		Admins:          cfg.Admins,
		Moderation:      s.moderation,
		FileKey:         fileKey,
		MaxFileBytes:    cfg.MaxFileBytes,
		FileQuotaBytes:  cfg.FileQuotaBytes,
		FileRetention:   cfg.FileRetention,
	}
	if chatMetrics != nil {
		chatCfg.Metrics = chatMetrics
	}
	if s.audit != nil {
		chatCfg.AuditNotify = s.audit.Notify
	}
	s.chat = chat.New(chatCfg)

	var streamHooks limits.StreamHooks
	if chatMetrics != nil {
		streamHooks = chatMetrics
	}
	guard := limits.NewStreamGuard(limits.StreamOptions{
		Methods: []string{chatpb.ChatService_ChatStream_FullMethodName, chatpb.ChatService_Join_FullMethodName},
		Rate:    cfg.StreamRate, Burst: cfg.StreamBurst,
		RatePerIP: cfg.StreamRatePerIP, BurstPerIP: cfg.StreamBurstPerIP,
		IdleTimeout: cfg.IdleTimeout, Logger: log, Hooks: streamHooks,
	})
	opts := []grpc.ServerOption{
		chat.CodecOption(),
		grpc.MaxRecvMsgSize(max(maxRecvBytes, 2*cfg.MaxMessageBytes)),
		// gRPC's default (16 MB) lets each open stream hold that much
		// header memory; the chat's metadata needs a few hundred bytes.
		grpc.MaxHeaderListSize(uint32(cfg.MaxHeaderBytes)),
		grpc.ConnectionTimeout(cfg.HandshakeTimeout),
		// A connection's write buffer (32 KB) goes back to a pool after
		// each flush rather than staying with it: most connections are a
		// chat client that waits, one stream each.
		grpc.SharedWriteBuffer(true),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: keepaliveTime, Timeout: keepaliveTimeout, MaxConnectionIdle: cfg.IdleTimeout,
		}),
		grpc.InTapHandle(guard.Tap),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{guard.UnaryInterceptor()}, unary...)...),
		// The page's streams come through ServeHTTP, where Tap never runs.
		grpc.ChainStreamInterceptor(append([]grpc.StreamServerInterceptor{guard.StreamInterceptor()}, stream...)...),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	if cfg.MaxStreamsPerConn > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(cfg.MaxStreamsPerConn)))
	}
	s.grpc = grpc.NewServer(opts...)
	chatpb.RegisterChatServiceServer(s.grpc, s.chat)
	s.health = health.NewServer()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(chatpb.ChatService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	// Without the broker the server can neither relay nor store: it says
	// so, and serves again once NATS is back.
	s.broker.OnStatus(func(up bool) {
		st := healthpb.HealthCheckResponse_SERVING
		if !up {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		s.health.SetServingStatus("", st)
		s.health.SetServingStatus(chatpb.ChatService_ServiceDesc.ServiceName, st)
	})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	if srvMetrics != nil {
		srvMetrics.InitializeMetrics(s.grpc)
	}

	var hooks limits.ConnHooks
	if chatMetrics != nil {
		hooks = chatMetrics
	}
	s.lis = limits.Listener(s.lis, limits.ListenerOptions{
		Max: cfg.MaxConnections, MaxPerIP: cfg.MaxConnectionsPerIP, HandshakeTimeout: cfg.HandshakeTimeout,
		UserTimeout: keepaliveTimeout, Logger: log, Hooks: hooks, Tracker: guard,
	})

	if cfg.WebAddr != "" {
		s.web, err = web.New(web.Options{
			Addr: cfg.WebAddr, GRPC: s.grpc, SignIn: signInClient, TLS: serverTLS,
			MaxRequestBytes: max(maxRecvBytes, 2*cfg.MaxMessageBytes), MaxHeaderBytes: cfg.MaxHeaderBytes,
			MaxConnections: cfg.MaxConnections, MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
			HeaderTimeout: cfg.HandshakeTimeout, IdleTimeout: cfg.IdleTimeout, UserTimeout: keepaliveTimeout,
			Logger: log,
		})
		var lerr *web.ListenError
		switch {
		case errors.As(err, &lerr):
			log.Error("cannot serve the chat page; going on without it", "web_addr", cfg.WebAddr, "err", lerr.Err)
		case err != nil:
			return nil, err
		}
	}

	if cfg.MetricsAddr != "" {
		if ml, err := net.Listen("tcp", cfg.MetricsAddr); err != nil {
			log.Error("cannot serve metrics; going on without them", "metrics_addr", cfg.MetricsAddr, "err", err)
		} else {
			s.metLis = ml
			mux := http.NewServeMux()
			mux.Handle("/metrics", metrics.Handler(s.registry))
			s.metSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		}
	}
	if cfg.PprofAddr != "" {
		s.prof = listenProfiler(cfg.PprofAddr, log)
	}
	return s, nil
}

// Addr is the address the chat server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// MetricsAddr is the address /metrics is served on, or nil when metrics are
// off or their address could not be listened on.
func (s *Server) MetricsAddr() net.Addr {
	if s.metLis == nil {
		return nil
	}
	return s.metLis.Addr()
}

// PprofAddr is the address Go's runtime profiles are served on, or nil when
// -pprof-addr is empty or could not be listened on.
func (s *Server) PprofAddr() net.Addr {
	if s.prof == nil {
		return nil
	}
	return s.prof.lis.Addr()
}

// WebURL returns the chat page's address, or "" when the page is off or
// its address could not be listened on.
func (s *Server) WebURL() string {
	if s.web == nil {
		return ""
	}
	return s.web.URL()
}

// Registry returns the Prometheus registry of the server's metrics, or nil
// when metrics are off.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Run serves until ctx is done, then shuts down gracefully: every member is
// told "Server is shutting down", and the server waits at most
// cfg.ShutdownTimeout for the streams to end. It returns an error only when
// serving fails.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.grpc.Serve(s.lis) }()
	if s.metSrv != nil {
		go func() {
			if err := s.metSrv.Serve(s.metLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("metrics server stopped", "err", err)
			}
		}()
	}
	if s.prof != nil {
		go s.prof.serve(s.log)
	}
	if s.web != nil {
		go func() {
			if err := s.web.Serve(); err != nil {
				s.log.Error("chat page server stopped", "err", err)
			}
		}()
	}
	tlsMode := "off"
	switch {
	case s.cfg.TLSClientCA != "":
		tlsMode = "mutual"
	case s.cfg.TLS():
		tlsMode = "on"
	}
	metricsAddr := "off"
	if a := s.MetricsAddr(); a != nil {
		metricsAddr = a.String()
	}
	signIn := "off"
	if s.cfg.AuthServer != "" {
		signIn = s.cfg.AuthServer
	}
	audit := "kept until -logger-server is set"
	if s.cfg.LoggerServer != "" {
		audit = s.cfg.LoggerServer
	}
	page := s.WebURL()
	if page == "" {
		page = "off"
	}
	s.log.Info("chat server listening", "addr", s.Addr().String(), "tls", tlsMode, "sign_in", signIn, "audit", audit,
		"metrics", metricsAddr, "page", page, "data_dir", s.cfg.DataDir, "history", s.cfg.History)
	if s.web != nil {
		s.log.Info("chat in the browser: open " + page)
	}

	expireCtx, stopExpiring := context.WithCancel(ctx)
	defer stopExpiring()
	go expire(expireCtx, s.cfg.RoomRetention, s.chat.ExpireIdleRooms)
	go expire(expireCtx, s.chat.FileSweepPeriod(), s.chat.ExpireFiles)
	if s.audit != nil {
		// Stopped with the server: what it has not delivered stays in the
		// moderation log for the next start, or another node.
		auditCtx, stopAudit := context.WithCancel(context.Background())
		auditDone := make(chan struct{})
		go func() {
			defer close(auditDone)
			s.audit.Run(auditCtx)
		}()
		defer func() {
			stopAudit()
			<-auditDone
		}()
	}

	select {
	case err := <-served:
		s.stopMetrics()
		if err == nil { // Close stopped it
			return nil
		}
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	deadline := time.Now().Add(s.cfg.ShutdownTimeout)
	s.health.Shutdown()
	s.chat.Shutdown()
	if s.web != nil {
		// First: the browsers' streams end by themselves once their
		// shutdown notice is sent, and GracefulStop would cut them at once
		// (it cannot drain calls served over net/http).
		webCtx, cancel := context.WithDeadline(context.Background(), deadline)
		s.web.Shutdown(webCtx)
		cancel()
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline)):
		s.log.Warn("graceful shutdown timed out; closing remaining connections")
		s.grpc.Stop()
		<-stopped
	}
	s.stopMetrics()
	s.log.Info("server stopped")
	return nil
}

// expireEvery is how often rooms idle past -room-retention, and files
// past -file-retention, are looked for (more often when the retention is
// shorter than twice that).
const expireEvery = time.Minute

// expire calls sweep at start, so that what expired while the server was
// down goes at once, and then periodically, until ctx is done; never when
// retention is zero (kept forever, or nothing to sweep).
func expire(ctx context.Context, retention time.Duration, sweep func(time.Time) int) {
	if retention <= 0 {
		return
	}
	sweep(time.Now())
	t := time.NewTicker(min(expireEvery, max(retention/2, time.Millisecond)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			sweep(now)
		}
	}
}

func (s *Server) stopMetrics() {
	if s.metSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.metSrv.Shutdown(ctx)
}

// Close releases what New opened: the listeners (when Run was not called),
// the moderation log, the broker (and the embedded NATS server) and the
// connection to the AuthService.
func (s *Server) Close() {
	if s.grpc != nil {
		s.grpc.Stop()
	}
	if s.lis != nil {
		_ = s.lis.Close()
	}
	if s.metSrv != nil {
		_ = s.metSrv.Close()
	}
	if s.metLis != nil {
		_ = s.metLis.Close()
	}
	if s.prof != nil {
		s.prof.close()
	}
	if s.web != nil {
		s.web.Close()
	}
	if s.authConn != nil {
		_ = s.authConn.Close()
	}
	if s.loggerConn != nil {
		_ = s.loggerConn.Close()
	}
	if s.moderation != nil {
		s.moderation.Close()
		s.moderation = nil
	}
	if s.broker != nil {
		if err := s.broker.Close(); err != nil {
			s.log.Error("closing the connection to NATS", "err", err)
		}
		s.broker = nil
	}
	if s.dataLock != nil {
		_ = s.dataLock.Close() // releases the lock
		s.dataLock = nil
	}
}

// memoryBound is how many bytes the embedded NATS server may keep of the
// rooms when it keeps them in memory (no data directory): as many rooms as
// may exist, each with its history's bytes; 0 (no bound) on disk or on a
// cluster.
func memoryBound(cfg config.Config) int64 {
	if cfg.DataDir != "" || cfg.NATSURL != "" || cfg.MaxRooms == 0 {
		return 0
	}
	return int64(cfg.MaxRooms) * int64(cfg.HistoryBytes)
}

// dialService makes the connection to the Python service name (auth,
// logger) at addr, with TLS as opts says (plaintext when all empty).
func dialService(name, addr string, opts tlsconfig.ClientOptions) (*grpc.ClientConn, error) {
	tc, err := tlsconfig.Client(opts)
	if err != nil {
		return nil, fmt.Errorf("%s service TLS: %w", name, err)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tlsconfig.Credentials(tc)))
	if err != nil {
		return nil, fmt.Errorf("%s service at %s: %w", name, addr, err)
	}
	return cc, nil
}

// openModeration opens the moderation log on b's JetStream.
func openModeration(b *broker.Broker, log *slog.Logger) (*moderation.Shared, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	js, storage, replicas := b.JetStream()
	m, err := moderation.OpenShared(ctx, js, moderation.SharedOptions{
		Storage: storage, Replicas: replicas, Node: b.Node(), Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("open the moderation log: %w", err)
	}
	return m, nil
}

// importTimeout bounds the import of an older version's chat.db.
const importTimeout = 10 * time.Minute

// openBroker connects to the NATS cluster of -nats-url, or starts the
// embedded NATS server (keeping its store under -data-dir/nats), telling
// obs (nil: nobody) how it fares. A room stream it creates takes epoch
// (none: a new one).
func openBroker(cfg config.Config, epoch string, obs broker.Observer, log *slog.Logger) (*broker.Broker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Open(ctx, broker.Options{
		URLs: cfg.NATSURLs(), DataDir: cfg.DataDir, Listen: cfg.NATSAddr, Epoch: epoch, Observer: obs,
		CAFile: cfg.NATSCA, CertFile: cfg.NATSCert, KeyFile: cfg.NATSKey, CredsFile: cfg.NATSCreds,
		Replicas: cfg.NATSReplicas, History: cfg.History, NodeTTL: cfg.NodeTTL, MaxBytes: memoryBound(cfg),
		Name: "polychat-chat " + cfg.Addr, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if cfg.NATSURL == "" {
		store := "memory"
		if cfg.DataDir != "" {
			store = filepath.Join(cfg.DataDir, "nats")
		}
		log.Info("embedded NATS", "store", store, "node", b.Node(), "epoch", b.Epoch())
	} else {
		log.Info("chat node of a cluster", "nats", strings.Join(cfg.NATSURLs(), ","), "node", b.Node(), "epoch", b.Epoch(),
			"replicas", cfg.NATSReplicas)
	}
	return b, nil
}

// requestLogger adapts log for the request logging interceptors, which log
// each call's service, method, peer, status code and duration, and never
// metadata or payloads. Health checks are logged at debug level, so that
// probes do not flood the log.
func requestLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		level := slog.Level(lvl)
		if level <= slog.LevelInfo {
			for i := logging.Fields(fields).Iterator(); i.Next(); {
				if k, v := i.At(); k == "grpc.service" && v == healthpb.Health_ServiceDesc.ServiceName {
					level = slog.LevelDebug
					break
				}
			}
		}
		log.Log(ctx, level, "rpc "+msg, fields...)
	})
}

// NATSAddr is the address the embedded NATS server accepts other chat
// nodes and NATS clients on (-nats-addr), or nil when it accepts none.
func (s *Server) NATSAddr() net.Addr {
	return s.broker.ListenAddr()
}
