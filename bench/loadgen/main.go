// Command loadgen drives a chat.ChatService server (Polychat's, or the bench
// baseline) with N chat clients over M connections and prints one JSON report
// on stdout.
//
// Fan-out mode (the default): all clients join one room; once every client is
// welcomed and the join notices have stopped, P of them publish at a fixed
// total rate for each rate of -rates in turn. Every receiver measures each
// delivered text message's latency from its client_sent_at to its receipt.
// Each step reports deliveries per second, latency quantiles, drops (expected
// minus delivered deliveries), disconnects by status code, and the server's
// CPU and RSS read from /proc/<pid>. The sweep stops after the first step that
// saturates: deliveries/s below 90% of the offered load, drops, disconnects,
// or a p99 above -stop-p99. A step is within target when it does not saturate
// and its p99 is at most -max-p99.
//
// With -stuck, one more client joins last, on a connection of its own with a
// fixed 64 KiB flow-control window, and never reads. After the steps the
// publishers go on (at most -stuck-wait) until the others are told it left;
// then it reads what is left and reports how its stream ended (Polychat ends
// it with RESOURCE_EXHAUSTED).
//
// Idle mode (-idle): clients join rooms of -room-size members and stay idle;
// the report has the server's RSS before and after, per client.
//
// Ping-pong mode (-pingpong N): two clients pass one text back and forth N
// times; the report has the latency of one message through an idle server
// (see pingpong.go).
//
// Several servers (-addr a,b,c: chat servers of one cluster) take the
// connections in turn, so the clients are spread over them; -pid lists their
// processes (and the NATS servers') whose CPU and RSS are added up.
//
// Every phase is bounded by a timeout, and the process exits by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/cli"
)

type config struct {
	addr           string
	addrs          []string // addr's servers: connections go to each in turn
	clients        int
	conns          int
	publishers     int
	rates          []float64
	warmup         time.Duration
	duration       time.Duration
	drainMax       time.Duration
	payload        int
	pids           []int
	stuck          bool
	idle           bool
	pingPong       int
	warmupHops     int
	roomSize       int
	room           string
	maxP99         time.Duration
	stopP99        time.Duration
	stuckWait      time.Duration
	connectTimeout time.Duration
	quiet          time.Duration
	hold           time.Duration
	noStop         bool
	cpuProfile     string
	label          string
}

// parseArgs reads the command line. When ok is false the command is over
// with status code: -h was given (the usage is written to stderr), or a flag
// is wrong (one line on stderr).
func parseArgs(args []string, stderr io.Writer) (c config, code int, ok bool) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return c, cli.Fail(stderr, "loadgen", err), false
	}
	return c, cli.ExitOK, true
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var rates, pids string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1"+chatwire.DefaultAddr, "chat server address (loopback); several, comma-separated, take the connections in turn")
	fs.IntVar(&c.clients, "clients", 100, "chat clients (streams), publishers included")
	fs.IntVar(&c.conns, "conns", 0, "connections the clients are spread over (0: one per 50 clients)")
	fs.IntVar(&c.publishers, "publishers", 10, "clients that publish (at most -clients)")
	fs.StringVar(&rates, "rates", "100", "comma-separated total publish rates in messages/s, one step each")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "publishing before each step's measurement window")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "measurement window of each step")
	fs.DurationVar(&c.drainMax, "drain", 3*time.Second, "longest wait for in-flight deliveries after a step")
	fs.IntVar(&c.payload, "payload", 64, "bytes of text per message")
	fs.StringVar(&pids, "pid", "", "server process ids, comma-separated, for their CPU and RSS, added up (none: not sampled)")
	fs.BoolVar(&c.stuck, "stuck", false, "add one client that never reads")
	fs.BoolVar(&c.idle, "idle", false, "memory mode: connect, wait, report server RSS per client; no publishing")
	fs.IntVar(&c.pingPong, "pingpong", 0, "latency mode: two clients pass one text back and forth this many times (0: off)")
	fs.IntVar(&c.warmupHops, "warmup-hops", 200, "ping-pong mode: first hops not counted")
	fs.IntVar(&c.roomSize, "room-size", 0, "idle mode: clients per room (0: all in one room)")
	fs.StringVar(&c.room, "room", "bench", "room name (idle mode: prefix)")
	fs.DurationVar(&c.maxP99, "max-p99", 50*time.Millisecond, "a step with a p99 above this is not within target")
	fs.DurationVar(&c.stopP99, "stop-p99", 500*time.Millisecond, "p99 above this saturates a step (ends the sweep)")
	fs.DurationVar(&c.stuckWait, "stuck-wait", 20*time.Second, "with -stuck: longest extra publishing until the stuck client is dropped")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 90*time.Second, "longest wait for every client to be welcomed")
	fs.DurationVar(&c.quiet, "quiet", 500*time.Millisecond, "notice-free time that ends the join phase")
	fs.DurationVar(&c.hold, "hold", 2*time.Second, "idle mode: wait after connecting before reading RSS")
	fs.BoolVar(&c.noStop, "no-stop", false, "run every rate even after saturation")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the load generator's CPU profile to this file")
	fs.StringVar(&c.label, "label", "", "free text copied into the report (e.g. the server's name)")
	rest, err := cli.Parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	c.addrs = strings.Split(c.addr, ",")
	for _, f := range strings.Split(pids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return c, fmt.Errorf("bad process id %q in -pid", f)
		}
		c.pids = append(c.pids, pid)
	}
	for _, f := range strings.Split(rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return c, fmt.Errorf("bad rate %q in -rates", f)
		}
		c.rates = append(c.rates, r)
	}
	switch {
	case c.clients < 2:
		return c, errors.New("-clients must be at least 2")
	case c.publishers < 1 || c.publishers > c.clients:
		return c, errors.New("-publishers must be between 1 and -clients")
	case c.pingPong < 0 || c.warmupHops < 0:
		return c, errors.New("-pingpong and -warmup-hops must be 0 or more")
	case !c.idle && c.pingPong == 0 && len(c.rates) == 0:
		return c, errors.New("-rates is empty")
	}
	if c.conns <= 0 {
		c.conns = (c.clients + 49) / 50
	}
	c.conns = min(c.conns, c.clients)
	return c, nil
}

func main() {
	cfg, code, ok := parseArgs(os.Args[1:], os.Stderr)
	if !ok {
		os.Exit(code)
	}
	raiseFileLimit()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	rep, runErr := run(cfg)
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if runErr != nil {
		rep.Error = runErr.Error()
		fmt.Fprintln(os.Stderr, "loadgen:", runErr)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		os.Exit(1)
	}
	if runErr != nil {
		os.Exit(1)
	}
}

// raiseFileLimit lifts the soft open-files limit to the hard one: thousands of
// streams share few connections, but a 10,000-client run still needs room.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
}

// ---- report -------------------------------------------------------------------

// Report is the JSON the load generator prints.
type Report struct {
	Label      string          `json:"label,omitempty"`
	Mode       string          `json:"mode"`
	Addr       string          `json:"addr"`
	Clients    int             `json:"clients"`
	Conns      int             `json:"conns"`
	Publishers int             `json:"publishers,omitempty"`
	Payload    int             `json:"payload_bytes,omitempty"`
	Connect    *ConnectReport  `json:"connect,omitempty"`
	Steps      []Step          `json:"steps,omitempty"`
	Stuck      *StuckReport    `json:"stuck,omitempty"`
	Memory     *MemoryReport   `json:"memory,omitempty"`
	PingPong   *PingPongReport `json:"pingpong,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// ConnectReport describes the join phase.
type ConnectReport struct {
	Seconds float64 `json:"seconds"`
	// Notices counts the non-text messages (welcome, join notices) received.
	Notices uint64 `json:"notices"`
}

// Latency is a set of quantiles in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// ProcStats is a process's CPU use over the window and its RSS at the end.
type ProcStats struct {
	CPUPercent float64 `json:"cpu_percent"`
	RSSKB      int64   `json:"rss_kb"`
}

// Step is one publish rate's result.
type Step struct {
	Rate          float64        `json:"rate_msgs_per_s"`
	Offered       float64        `json:"offered_deliveries_per_s"`
	Sent          uint64         `json:"sent"`
	SentPerSec    float64        `json:"sent_per_s"`
	Expected      uint64         `json:"expected_deliveries"`
	Delivered     uint64         `json:"delivered"`
	Drops         int64          `json:"drops"`
	DeliveriesPS  float64        `json:"deliveries_per_s"`
	Latency       Latency        `json:"latency"`
	Disconnects   map[string]int `json:"disconnects"`
	Server        *ProcStats     `json:"server,omitempty"`
	Loadgen       ProcStats      `json:"loadgen"`
	Saturated     bool           `json:"saturated"`
	WithinTarget  bool           `json:"within_target"`
	SaturatedWhy  string         `json:"saturated_why,omitempty"`
	WindowSeconds float64        `json:"window_seconds"`
}

// StuckReport says how the never-reading client's stream ended.
type StuckReport struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Disconnected bool   `json:"disconnected"`
	// Buffered counts the messages it could still read before the status.
	Buffered int `json:"buffered_messages"`
	// DroppedDuringSteps says whether the others were told it left before
	// the steps ended; ExtraSeconds is the publishing after them it took.
	DroppedDuringSteps bool    `json:"dropped_during_steps"`
	ExtraSeconds       float64 `json:"extra_seconds"`
}

// MemoryReport is the idle-mode result.
type MemoryReport struct {
	RoomSize       int     `json:"room_size"`
	Rooms          int     `json:"rooms"`
	RSSBeforeKB    int64   `json:"rss_before_kb"`
	RSSAfterKB     int64   `json:"rss_after_kb"`
	PerClientKB    float64 `json:"rss_per_client_kb"`
	ServerThreads  int     `json:"server_threads"`
	ConnectSeconds float64 `json:"connect_seconds"`
}

// ---- clients ------------------------------------------------------------------

type client struct {
	idx    int
	stream grpc.BidiStreamingClient[chatpb.ChatMessage, chatpb.ChatMessage]
	cancel context.CancelFunc

	welcomed chan struct{} // closed on the first message
	text     atomic.Uint64 // text deliveries received
	sent     atomic.Uint64 // messages published
	done     chan struct{} // closed when the receive loop ends
	err      error         // why it ended; set before done closes
}

type loadgen struct {
	cfg     config
	conns   []*grpc.ClientConn
	clients []*client

	// hists is the current step's histograms, one per shard; nil outside a
	// measurement window.
	hists     atomic.Pointer[[]*hist]
	notices   atomic.Uint64 // non-text messages received
	leaves    atomic.Uint64 // KIND_LEAVE notices received
	lastNote  atomic.Int64  // when the last one arrived (Unix ns)
	startedAt time.Time

	mu          sync.Mutex
	disconnects map[string]int // receive loops that ended, by status code
	finishing   atomic.Bool    // set once the run is over: ends are expected
}

const shards = 32

func dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newRecvCodec())),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	conn.Connect()
	return conn, nil
}

// open starts client idx's stream in room on conn and its receive loop.
func (lg *loadgen) open(idx int, conn *grpc.ClientConn, room string, read bool) (*client, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ctx = metadata.AppendToOutgoingContext(ctx, chatwire.UserKey, "lg"+strconv.Itoa(idx), chatwire.RoomKey, room)
	stream, err := chatpb.NewChatServiceClient(conn).ChatStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &client{idx: idx, stream: stream, cancel: cancel, welcomed: make(chan struct{}), done: make(chan struct{})}
	if read {
		go lg.receive(c)
	}
	return c, nil
}

// receive reads c's stream until it ends, counting text deliveries and
// recording their latency while a measurement window is open.
func (lg *loadgen) receive(c *client) {
	defer close(c.done)
	var d delivery
	first := true
	shard := c.idx % shards
	for {
		if err := c.stream.RecvMsg(&d); err != nil {
			c.err = err
			if !lg.finishing.Load() {
				code := status.Code(err).String()
				if errors.Is(err, io.EOF) {
					code = "EOF"
				}
				lg.mu.Lock()
				lg.disconnects[code]++
				lg.mu.Unlock()
			}
			if first {
				close(c.welcomed)
			}
			return
		}
		now := time.Now().UnixNano()
		if first {
			first = false
			close(c.welcomed)
		}
		if d.kind == kindText && d.sentAt != 0 {
			c.text.Add(1)
			if hs := lg.hists.Load(); hs != nil {
				(*hs)[shard].Record((now - d.sentAt) / 1000)
			}
			continue
		}
		lg.notices.Add(1)
		lg.lastNote.Store(now)
		if d.kind == kindLeave {
			lg.leaves.Add(1)
		}
	}
}

// connect opens the clients and waits until every one is welcomed and no
// notice has arrived for cfg.quiet.
func (lg *loadgen) connect(roomOf func(int) string) (*ConnectReport, error) {
	cfg := lg.cfg
	start := time.Now()
	for j := range cfg.conns {
		conn, err := dial(cfg.addrs[j%len(cfg.addrs)])
		if err != nil {
			return nil, err
		}
		lg.conns = append(lg.conns, conn)
	}
	lg.clients = make([]*client, cfg.clients)
	deadline := time.After(cfg.connectTimeout)
	// Open in waves so that a wave is welcomed before the next one starts:
	// a server that sends join notices to everyone gets a steady load.
	const wave = 100
	for lo := 0; lo < cfg.clients; lo += wave {
		hi := min(lo+wave, cfg.clients)
		for i := lo; i < hi; i++ {
			c, err := lg.open(i, lg.conns[i%len(lg.conns)], roomOf(i), true)
			if err != nil {
				return nil, fmt.Errorf("client %d: %w", i, err)
			}
			lg.clients[i] = c
		}
		for i := lo; i < hi; i++ {
			select {
			case <-lg.clients[i].welcomed:
				if err := lg.clients[i].err; err != nil {
					return nil, fmt.Errorf("client %d ended before its welcome: %w", i, err)
				}
			case <-deadline:
				return nil, fmt.Errorf("only %d of %d clients welcomed after %s", lg.welcomedCount(), cfg.clients, cfg.connectTimeout)
			}
		}
	}
	// Join notices (N*(N-1)/2 of them for one room) may still be on their way.
	for {
		last := time.Unix(0, lg.lastNote.Load())
		if time.Since(last) >= cfg.quiet {
			break
		}
		select {
		case <-deadline:
			return nil, fmt.Errorf("join notices still arriving after %s", cfg.connectTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
	rep := &ConnectReport{Seconds: time.Since(start).Seconds() - cfg.quiet.Seconds(), Notices: lg.notices.Load()}
	logf("%d clients over %d connections welcomed in %.1fs (%d notices)", cfg.clients, cfg.conns, rep.Seconds, rep.Notices)
	return rep, nil
}

func (lg *loadgen) welcomedCount() int {
	n := 0
	for _, c := range lg.clients {
		if c == nil {
			continue
		}
		select {
		case <-c.welcomed:
			n++
		default:
		}
	}
	return n
}

func (lg *loadgen) textTotal() uint64 {
	var n uint64
	for _, c := range lg.clients {
		n += c.text.Load()
	}
	return n
}

func (lg *loadgen) sentTotal() uint64 {
	var n uint64
	for _, c := range lg.clients[:lg.cfg.publishers] {
		n += c.sent.Load()
	}
	return n
}

func (lg *loadgen) disconnectsSnapshot() map[string]int {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	m := make(map[string]int, len(lg.disconnects))
	for k, v := range lg.disconnects {
		m[k] = v
	}
	return m
}

func (lg *loadgen) close() {
	lg.finishing.Store(true)
	for _, c := range lg.clients {
		if c != nil {
			c.cancel()
		}
	}
	for _, conn := range lg.conns {
		_ = conn.Close()
	}
}

// ---- publishing ---------------------------------------------------------------

// publish sends from client c at rate messages/s until stop, on a fixed
// schedule (a late send does not push the later ones back).
func publish(c *client, rate float64, payload string, until time.Time, stop <-chan struct{}) {
	interval := time.Duration(float64(time.Second) / rate)
	// Spread the publishers' phases so they do not send in lockstep.
	next := time.Now().Add(time.Duration(c.idx) * interval / 16)
	msg := &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_TEXT, Message: payload}
	for {
		now := time.Now()
		if !now.Before(until) {
			return
		}
		select {
		case <-stop:
			return
		default:
		}
		if d := next.Sub(now); d > 0 {
			time.Sleep(d)
		}
		msg.ClientSentAt = timestamppb.Now()
		if err := c.stream.Send(msg); err != nil {
			return
		}
		c.sent.Add(1)
		next = next.Add(interval)
		if behind := time.Since(next); behind > time.Second {
			next = time.Now() // the server pushes back: do not burst a whole second
		}
	}
}

func (lg *loadgen) step(rate float64) Step {
	cfg := lg.cfg
	receivers := uint64(cfg.clients - 1)
	st := Step{Rate: rate, Offered: rate * float64(receivers)}
	payload := strings.Repeat("x", cfg.payload)
	sent0, text0 := lg.sentTotal(), lg.textTotal()
	disc0 := lg.disconnectsSnapshot()

	start := time.Now()
	until := start.Add(cfg.warmup + cfg.duration)
	var wg sync.WaitGroup
	for _, c := range lg.clients[:cfg.publishers] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			publish(c, rate/float64(cfg.publishers), payload, until, nil)
		}()
	}

	time.Sleep(cfg.warmup)
	hs := make([]*hist, shards)
	for i := range hs {
		hs[i] = new(hist)
	}
	srv0, self0 := readProcs(cfg.pids), readProc(os.Getpid())
	w0, wsent0 := lg.textTotal(), lg.sentTotal()
	t0 := time.Now()
	lg.hists.Store(&hs)
	time.Sleep(time.Until(until))
	lg.hists.Store(nil)
	t1 := time.Now()
	w1, wsent1 := lg.textTotal(), lg.sentTotal()
	srv1, self1 := readProcs(cfg.pids), readProc(os.Getpid())
	wg.Wait()

	window := t1.Sub(t0).Seconds()
	st.WindowSeconds = round(window, 3)
	st.DeliveriesPS = round(float64(w1-w0)/window, 0)
	st.SentPerSec = round(float64(wsent1-wsent0)/window, 1)
	if len(cfg.pids) > 0 {
		st.Server = &ProcStats{CPUPercent: cpuPercent(srv0, srv1), RSSKB: srv1.rssKB}
	}
	st.Loadgen = ProcStats{CPUPercent: cpuPercent(self0, self1), RSSKB: self1.rssKB}

	// Drain: wait until every expected delivery arrived, or progress stops.
	st.Sent = lg.sentTotal() - sent0
	st.Expected = st.Sent * receivers
	drainEnd := time.Now().Add(cfg.drainMax)
	last, lastChange := lg.textTotal(), time.Now()
	for time.Now().Before(drainEnd) {
		got := lg.textTotal()
		if got-text0 >= st.Expected {
			break
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 500*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.Delivered = lg.textTotal() - text0
	st.Drops = int64(st.Expected) - int64(st.Delivered)

	all := new(hist)
	for _, h := range hs {
		all.Merge(h)
	}
	st.Latency = latencyOf(all)
	st.Disconnects = map[string]int{}
	for k, v := range lg.disconnectsSnapshot() {
		if d := v - disc0[k]; d > 0 {
			st.Disconnects[k] = d
		}
	}
	var why []string
	if st.DeliveriesPS < 0.9*st.Offered {
		why = append(why, fmt.Sprintf("deliveries/s %.0f < 90%% of offered %.0f", st.DeliveriesPS, st.Offered))
	}
	if st.Latency.P99 > float64(cfg.stopP99)/float64(time.Millisecond) {
		why = append(why, fmt.Sprintf("p99 %.1f ms > %s", st.Latency.P99, cfg.stopP99))
	}
	if st.Drops > 0 {
		why = append(why, fmt.Sprintf("%d drops", st.Drops))
	}
	if len(st.Disconnects) > 0 {
		why = append(why, fmt.Sprintf("disconnects %v", st.Disconnects))
	}
	st.Saturated = len(why) > 0
	st.SaturatedWhy = strings.Join(why, "; ")
	st.WithinTarget = !st.Saturated && st.Latency.P99 <= float64(cfg.maxP99)/float64(time.Millisecond)
	logf("rate %.0f msg/s (offered %.0f/s): %.0f deliveries/s, p50 %.2f ms, p99 %.2f ms, drops %d, server cpu %.0f%% %s",
		rate, st.Offered, st.DeliveriesPS, st.Latency.P50, st.Latency.P99, st.Drops,
		func() float64 {
			if st.Server != nil {
				return st.Server.CPUPercent
			}
			return 0
		}(), st.SaturatedWhy)
	return st
}

func latencyOf(h *hist) Latency {
	ms := func(us int64) float64 { return round(float64(us)/1000, 3) }
	return Latency{
		Count: h.Count(),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(h.Max()),
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ---- runs -------------------------------------------------------------------------

func run(cfg config) (Report, error) {
	rep := Report{Label: cfg.label, Addr: cfg.addr, Clients: cfg.clients, Conns: cfg.conns}
	lg := &loadgen{cfg: cfg, disconnects: map[string]int{}, startedAt: time.Now()}
	defer lg.close()
	if cfg.pingPong > 0 {
		rep.Mode = "pingpong"
		rep.Clients, rep.Conns, rep.Payload = 2, 2, cfg.payload
		pp, err := lg.runPingPong()
		rep.PingPong = pp
		return rep, err
	}
	if cfg.idle {
		rep.Mode = "idle"
		mem, err := lg.runIdle()
		rep.Memory = mem
		return rep, err
	}
	rep.Mode = "fanout"
	rep.Publishers, rep.Payload = cfg.publishers, cfg.payload

	conn, err := lg.connect(func(int) string { return cfg.room })
	rep.Connect = conn
	if err != nil {
		return rep, err
	}
	// The stuck client joins last, so that it is filled by the load rather
	// than by join notices, on a connection of its own whose flow-control
	// window does not grow; it never reads.
	var stuck *client
	if cfg.stuck {
		conn, err := dial(cfg.addrs[0], grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
		if err != nil {
			return rep, err
		}
		lg.conns = append(lg.conns, conn)
		if stuck, err = lg.open(cfg.clients, conn, cfg.room, false); err != nil {
			return rep, err
		}
		// Its join notice reaches everyone else.
		want := lg.notices.Load() + uint64(cfg.clients)
		for end := time.Now().Add(10 * time.Second); lg.notices.Load() < want && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		lg.lastNote.Store(0)
	}
	for _, r := range cfg.rates {
		st := lg.step(r)
		rep.Steps = append(rep.Steps, st)
		if st.Saturated && !cfg.noStop {
			break
		}
	}
	if stuck != nil {
		rep.Stuck = lg.finishStuck(stuck, cfg.rates[len(rep.Steps)-1])
		logf("stuck client: %s after %d buffered messages (dropped during steps: %v, %.1fs more)",
			rep.Stuck.Code, rep.Stuck.Buffered, rep.Stuck.DroppedDuringSteps, rep.Stuck.ExtraSeconds)
	}
	return rep, nil
}

// finishStuck goes on publishing at rate until the others are told that the
// stuck client left (at most cfg.stuckWait), then drains it.
func (lg *loadgen) finishStuck(c *client, rate float64) *StuckReport {
	cfg := lg.cfg
	dropped := lg.leaves.Load() > 0
	start := time.Now()
	if !dropped {
		until := start.Add(cfg.stuckWait)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range lg.clients[:cfg.publishers] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				publish(p, rate/float64(cfg.publishers), strings.Repeat("x", cfg.payload), until, stop)
			}()
		}
		for lg.leaves.Load() == 0 && time.Now().Before(until) {
			time.Sleep(20 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
	}
	rep := drainStuck(c)
	rep.DroppedDuringSteps = dropped
	rep.ExtraSeconds = round(time.Since(start).Seconds(), 2)
	return rep
}

// drainStuck reads what the never-reading client has left, up to its status.
func drainStuck(c *client) *StuckReport {
	rep := &StuckReport{}
	timer := time.AfterFunc(10*time.Second, c.cancel)
	defer timer.Stop()
	var d delivery
	for {
		err := c.stream.RecvMsg(&d)
		if err == nil {
			rep.Buffered++
			continue
		}
		s := status.Convert(err)
		rep.Code, rep.Message = s.Code().String(), s.Message()
		if errors.Is(err, io.EOF) {
			rep.Code = "OK"
		}
		rep.Disconnected = s.Code() == codes.ResourceExhausted
		return rep
	}
}

func (lg *loadgen) runIdle() (*MemoryReport, error) {
	cfg := lg.cfg
	size := cfg.roomSize
	if size <= 0 {
		size = cfg.clients
	}
	rep := &MemoryReport{RoomSize: size, Rooms: (cfg.clients + size - 1) / size}
	before := readProcs(cfg.pids)
	rep.RSSBeforeKB = before.rssKB
	conn, err := lg.connect(func(i int) string { return cfg.room + "-" + strconv.Itoa(i/size) })
	if err != nil {
		return rep, err
	}
	rep.ConnectSeconds = round(conn.Seconds, 2)
	time.Sleep(cfg.hold)
	// RSS moves as the runtime returns freed memory: take the median of a few.
	var samples []int64
	for i := range 5 {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		samples = append(samples, readProcs(cfg.pids).rssKB)
	}
	slices.Sort(samples)
	after := readProcs(cfg.pids)
	rep.RSSAfterKB = samples[len(samples)/2]
	rep.ServerThreads = after.threads
	rep.PerClientKB = round(float64(rep.RSSAfterKB-rep.RSSBeforeKB)/float64(cfg.clients), 2)
	if d := lg.disconnectsSnapshot(); len(d) > 0 {
		return rep, fmt.Errorf("clients were disconnected while idle: %v", d)
	}
	logf("idle: %d clients in %d rooms: RSS %d -> %d KB, %.2f KB per client",
		cfg.clients, rep.Rooms, rep.RSSBeforeKB, rep.RSSAfterKB, rep.PerClientKB)
	return rep, nil
}

// ---- /proc --------------------------------------------------------------------------

type procSample struct {
	at      time.Time
	ticks   int64 // utime + stime
	rssKB   int64
	threads int
}

// clockTicks is sysconf(_SC_CLK_TCK), 100 on every Linux this runs on.
const clockTicks = 100

// readProcs samples every process of pids and adds them up.
func readProcs(pids []int) procSample {
	sum := procSample{at: time.Now()}
	for _, pid := range pids {
		s := readProc(pid)
		sum.ticks += s.ticks
		sum.rssKB += s.rssKB
		sum.threads += s.threads
	}
	return sum
}

// readProc samples /proc/<pid>; a zero pid or a read error gives a zero sample.
func readProc(pid int) procSample {
	s := procSample{at: time.Now()}
	if pid <= 0 {
		return s
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command name; utime and stime are
		// fields 14 and 15 of the whole line.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				sy, _ := strconv.ParseInt(f[12], 10, 64)
				s.ticks = u + sy
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				s.rssKB, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			}
			if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				s.threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
	}
	return s
}

// cpuPercent is the CPU used between two samples, in percent of one core.
func cpuPercent(a, b procSample) float64 {
	d := b.at.Sub(a.at).Seconds()
	if d <= 0 {
		return 0
	}
	return round(float64(b.ticks-a.ticks)/clockTicks/d*100, 1)
}
