// Command resilience measures how chat clients ride out a server crash or a
// network cut: N resilient clients join one room, S of them send numbered
// messages, each with a client_msg_id; mid-run the fault strikes, and every
// client reconnects by itself, resuming its session with chat-resume-token
// and chat-resume-from (docs/chat-protocol.md). It prints one JSON report:
// messages lost and duplicates shown (both should be 0), and how long after
// the fault each client was back (p50, p99, max).
//
// It runs the chat server itself, from the command after the flags, so that
// it can kill it:
//
//	resilience -mode restart -addr 127.0.0.1:PORT -- chat-server -addr 127.0.0.1:PORT -data-dir DIR ...
//
// -mode restart kills the server with SIGKILL and starts the same command
// again (same port, same data directory); the resume times count from that
// start. -mode cut puts a TCP proxy between the clients and the server and
// closes every connection through it once, with the server left running;
// the times count from the cut.
//
// The clients are the bench's own, not the interactive ones: each has its
// own connection and reconnects with gRPC's connection backoff (1 s, x1.6,
// jitter 0.2, at most 30 s); a sender resends the messages it sent in the
// last -resend-window before its stream was lost, with the same
// client_msg_id, and the server drops those it already has. Every client
// drops a text whose seq it already showed in that epoch. A message is
// lost when a client other than its sender never showed it, and a
// duplicate when one showed it twice.
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
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polychat/polychat/internal/cli"
)

type config struct {
	mode           string
	addr           string
	clients        int
	senders        int
	rate           float64
	room           string
	before         time.Duration
	after          time.Duration
	resendWindow   time.Duration
	connectTimeout time.Duration
	resumeTimeout  time.Duration
	drain          time.Duration
	serverLog      string
	serverArgs     []string
	label          string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("resilience", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "restart", "the fault: restart (kill -9 the server, start it again) or cut (drop every connection once)")
	fs.StringVar(&c.addr, "addr", "", "address the server command listens on (loopback)")
	fs.IntVar(&c.clients, "clients", 200, "chat clients in the room, senders included")
	fs.IntVar(&c.senders, "senders", 5, "clients that send numbered messages")
	fs.Float64Var(&c.rate, "rate", 5, "messages per second each sender sends")
	fs.StringVar(&c.room, "room", "resilience", "room name")
	fs.DurationVar(&c.before, "before", 3*time.Second, "sending before the fault")
	fs.DurationVar(&c.after, "after", 3*time.Second, "sending once every client is back")
	fs.DurationVar(&c.resendWindow, "resend-window", 5*time.Second, "a sender resends what it sent this long before its stream was lost")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 60*time.Second, "longest wait for every client to be welcomed")
	fs.DurationVar(&c.resumeTimeout, "resume-timeout", 60*time.Second, "longest wait for every client to be back after the fault")
	fs.DurationVar(&c.drain, "drain", 15*time.Second, "longest wait for the last messages to arrive")
	fs.StringVar(&c.serverLog, "server-log", os.DevNull, "file for the server's output")
	fs.StringVar(&c.label, "label", "", "free text copied into the report")
	rest, err := cli.Parse(fs, args)
	if err != nil {
		return c, err
	}
	c.serverArgs = rest
	switch {
	case c.mode != "restart" && c.mode != "cut":
		return c, fmt.Errorf("-mode must be restart or cut, not %q", c.mode)
	case c.addr == "":
		return c, errors.New("-addr is required: where the server command listens")
	case len(c.serverArgs) == 0:
		return c, errors.New("the server command is missing after the flags")
	case c.clients < 2:
		return c, errors.New("-clients must be at least 2")
	case c.senders < 1 || c.senders > c.clients:
		return c, errors.New("-senders must be between 1 and -clients")
	case c.rate <= 0:
		return c, errors.New("-rate must be more than 0")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(cli.Fail(os.Stderr, "resilience", err))
	}
	rep, runErr := run(cfg)
	if runErr != nil {
		rep.Error = runErr.Error()
		fmt.Fprintln(os.Stderr, "resilience:", runErr)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil || runErr != nil {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "resilience: "+format+"\n", args...)
}

// Report is the JSON the command prints.
type Report struct {
	Label   string  `json:"label,omitempty"`
	Mode    string  `json:"mode"`
	Clients int     `json:"clients"`
	Senders int     `json:"senders"`
	Rate    float64 `json:"rate_per_sender"`
	// ConnectSeconds is how long it took every client to be welcomed.
	ConnectSeconds float64 `json:"connect_seconds"`
	// Sent counts the numbered messages (each counted once, however often
	// it was sent); Resent the sends of a message sent before.
	Sent   int `json:"sent"`
	Resent int `json:"resent"`
	// Expected is the showings there should be (every message at every
	// client but its sender); Delivered the showings there were.
	Expected   int `json:"expected_deliveries"`
	Delivered  int `json:"delivered"`
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
	// Hidden counts texts the clients dropped as already shown (same epoch,
	// seq not above the last one shown).
	Hidden int          `json:"repeats_hidden"`
	Fault  FaultReport  `json:"fault"`
	Resume ResumeReport `json:"resume"`
	// Notices counts the resume notices the clients got, by kind.
	Notices map[string]int `json:"notices"`
	// Failed counts the clients that stopped on a status retrying cannot fix.
	Failed map[string]int `json:"failed,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// FaultReport describes the fault.
type FaultReport struct {
	// ConnectionsCut counts the connections the proxy cut (mode cut).
	ConnectionsCut int `json:"connections_cut,omitempty"`
	// ListenMS is how long the restarted server took to listen (mode
	// restart).
	ListenMS float64 `json:"listen_ms,omitempty"`
}

// ResumeReport is how long after the server started again (or the cut)
// each client was welcomed back.
type ResumeReport struct {
	Back int `json:"back"`
	// Resumed welcomes said resumed=true; Rejoined joined as new members.
	Resumed  int     `json:"resumed"`
	Rejoined int     `json:"rejoined"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	MaxMS    float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func run(cfg config) (rep Report, err error) {
	rep = Report{Label: cfg.label, Mode: cfg.mode, Clients: cfg.clients, Senders: cfg.senders, Rate: cfg.rate, Notices: map[string]int{}}
	logFile, err := os.OpenFile(cfg.serverLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return rep, err
	}
	defer logFile.Close()
	srv := &server{args: cfg.serverArgs, addr: cfg.addr, log: logFile}
	if err := srv.start(20 * time.Second); err != nil {
		return rep, err
	}
	defer srv.stop(5 * time.Second)
	target := cfg.addr
	var px *proxy
	if cfg.mode == "cut" {
		if px, err = newProxy(cfg.addr); err != nil {
			return rep, err
		}
		defer px.Close()
		target = px.Addr()
	}

	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	clients := make([]*rclient, cfg.clients)
	defer func() {
		cancel()
		running.Wait()
		for _, c := range clients {
			if c != nil {
				c.conn.Close()
			}
		}
	}()
	start := time.Now()
	for i := range clients {
		sender := -1
		if i < cfg.senders {
			sender = i
		}
		c, err := newClient(i, target, cfg.room, sender, cfg.senders, cfg.resendWindow)
		if err != nil {
			return rep, err
		}
		clients[i] = c
		running.Add(1)
		go func() {
			defer running.Done()
			c.run(ctx)
		}()
	}
	deadline := time.After(cfg.connectTimeout)
	for _, c := range clients {
		select {
		case <-c.first:
		case <-deadline:
			return rep, fmt.Errorf("%w within %s", errNotWelcomed, cfg.connectTimeout)
		}
	}
	rep.ConnectSeconds = math.Round(time.Since(start).Seconds()*100) / 100
	logf("%d clients welcomed in %.1fs", cfg.clients, rep.ConnectSeconds)

	// The senders: each makes its next numbered message every 1/rate s,
	// connected or not; the outbox sends it when it can.
	sent := make([]atomic.Int64, cfg.senders)
	stop := make(chan struct{})
	var sending sync.WaitGroup
	for i := range cfg.senders {
		sending.Add(1)
		go func() {
			defer sending.Done()
			produce(clients[i].out, i, cfg.rate, &sent[i], stop)
		}()
	}
	stopSending := sync.OnceFunc(func() { close(stop); sending.Wait() })
	defer stopSending()

	time.Sleep(cfg.before)
	var t0 time.Time
	switch cfg.mode {
	case "restart":
		if err := srv.kill(); err != nil {
			return rep, err
		}
		t0 = time.Now()
		if err := srv.start(20 * time.Second); err != nil {
			return rep, fmt.Errorf("restart: %w", err)
		}
		rep.Fault.ListenMS = ms(time.Since(t0))
		logf("server killed (-9) and started again; listening after %.0f ms", rep.Fault.ListenMS)
	case "cut":
		t0 = time.Now()
		rep.Fault.ConnectionsCut = px.cut()
		logf("cut %d connections", rep.Fault.ConnectionsCut)
	}

	back, err := waitBack(clients, t0, cfg.resumeTimeout)
	rep.Resume = back
	if err != nil {
		return rep, err
	}
	logf("all %d clients back: p50 %.0f ms, p99 %.0f ms, max %.0f ms after the %s",
		back.Back, back.P50MS, back.P99MS, back.MaxMS, map[string]string{"restart": "server started", "cut": "cut"}[cfg.mode])

	time.Sleep(cfg.after)
	stopSending()
	totals := make([]int, cfg.senders)
	for i := range totals {
		totals[i] = int(sent[i].Load())
		rep.Sent += totals[i]
	}
	drain(clients, totals, cfg.drain)
	for _, c := range clients {
		c.mu.Lock()
		lost, dup, got := c.tally.score(totals, c.sender)
		rep.Lost += lost
		rep.Duplicates += dup
		rep.Delivered += got
		rep.Hidden += c.hidden
		for k, v := range c.notices {
			rep.Notices[k] += v
		}
		c.mu.Unlock()
		if c.out != nil {
			rep.Resent += c.out.resends()
		}
		if err := c.failed(); err != nil {
			if rep.Failed == nil {
				rep.Failed = map[string]int{}
			}
			rep.Failed[err.Error()]++
		}
	}
	rep.Expected = rep.Sent * (cfg.clients - 1)
	logf("sent %d (%d resends): %d of %d deliveries, %d lost, %d duplicates, %d repeats hidden",
		rep.Sent, rep.Resent, rep.Delivered, rep.Expected, rep.Lost, rep.Duplicates, rep.Hidden)
	return rep, nil
}

// produce adds message 1, 2, ... of sender s to out at rate per second
// until stop is closed, counting them in n.
func produce(out *outbox, s int, rate float64, n *atomic.Int64, stop <-chan struct{}) {
	interval := time.Duration(float64(time.Second) / rate)
	// Spread the senders' phases so they do not send in lockstep.
	t := time.NewTimer(time.Duration(s) * interval / 7)
	defer t.Stop()
	next := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		k := int(n.Add(1))
		out.add(&outMsg{n: k, id: "rs" + strconv.Itoa(s) + "-" + strconv.Itoa(k), text: messageText(s, k)})
		next = next.Add(interval)
		t.Reset(max(0, time.Until(next)))
	}
}

// waitBack waits until every client was welcomed at or after t0 and
// returns how long after t0 each was.
func waitBack(clients []*rclient, t0 time.Time, timeout time.Duration) (ResumeReport, error) {
	var rep ResumeReport
	end := time.Now().Add(timeout)
	var ds []time.Duration
	for {
		ds = ds[:0]
		for _, c := range clients {
			if at, ok := c.resumedSince(t0); ok {
				ds = append(ds, at.Sub(t0))
			}
		}
		if len(ds) == len(clients) || time.Now().After(end) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	rep.Back = len(ds)
	for _, c := range clients {
		c.mu.Lock()
		rep.Rejoined += c.fresh
		c.mu.Unlock()
	}
	rep.Resumed = rep.Back - rep.Rejoined
	rep.P50MS, rep.P99MS = ms(quantile(ds, 0.5)), ms(quantile(ds, 0.99))
	if len(ds) > 0 {
		rep.MaxMS = ms(ds[len(ds)-1])
	}
	if rep.Back < len(clients) {
		var why []string
		for _, c := range clients {
			if _, ok := c.resumedSince(t0); !ok {
				c.mu.Lock()
				why = append(why, fmt.Sprint(c.lastErr))
				c.mu.Unlock()
			}
		}
		sort.Strings(why)
		return rep, fmt.Errorf("%d of %d clients not back after %s (first: %s)", len(clients)-rep.Back, len(clients), timeout, why[0])
	}
	return rep, nil
}

// drain waits until the senders' queues are empty and every client has
// shown every message, or nothing more arrives for a second, at most
// timeout.
func drain(clients []*rclient, totals []int, timeout time.Duration) {
	end := time.Now().Add(timeout)
	last, lastChange := -1, time.Now()
	for time.Now().Before(end) {
		missing, pending := 0, 0
		for _, c := range clients {
			c.mu.Lock()
			lost, _, _ := c.tally.score(totals, c.sender)
			c.mu.Unlock()
			missing += lost
			if c.out != nil {
				pending += c.out.pending()
			}
		}
		if missing == 0 && pending == 0 {
			return
		}
		if missing+pending != last {
			last, lastChange = missing+pending, time.Now()
		} else if time.Since(lastChange) > time.Second {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
