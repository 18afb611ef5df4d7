package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// eventually polls cond until it holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in time", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricsText scrapes the server's /metrics.
func metricsText(t *testing.T, s running) string {
	t.Helper()
	resp, err := http.Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return "\n" + string(body)
}

// hasMetric reports whether /metrics has the line want.
func hasMetric(t *testing.T, s running, want string) bool {
	t.Helper()
	return strings.Contains(metricsText(t, s), "\n"+want+"\n")
}

// headersBlock HPACK-encodes a ChatStream request's headers plus extra.
func headersBlock(addr string, extra ...hpack.HeaderField) []byte {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: chatpb.ChatService_ChatStream_FullMethodName}, {Name: ":authority", Value: addr},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}, extra...) {
		_ = enc.WriteField(f)
	}
	return b.Bytes()
}

// writeHeaders sends block as a HEADERS frame and CONTINUATION frames of at
// most 16 KiB (the default SETTINGS_MAX_FRAME_SIZE).
func writeHeaders(t *testing.T, fr *http2.Framer, id uint32, block []byte) {
	t.Helper()
	const chunk = 16 << 10
	n := min(chunk, len(block))
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:n], EndHeaders: n == len(block)}); err != nil {
		t.Fatal(err)
	}
	for rest := block[n:]; len(rest) > 0; rest = rest[n:] {
		n = min(chunk, len(rest))
		if err := fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
			t.Fatal(err)
		}
	}
}

// A request whose header list is over -max-header-bytes is refused before
// any handler sees it, and the limit is announced in the server's SETTINGS.
// A little over the limit, the stream is reset and the connection goes on
// serving; far over it (4 MB), the connection is closed.
func TestHeaderListOverTheLimitIsRefused(t *testing.T) {
	s := start(t, testConfig(t))
	addr := s.Addr().String()
	pad := func(n, size int) []hpack.HeaderField {
		var fs []hpack.HeaderField
		for i := range n {
			fs = append(fs, hpack.HeaderField{Name: fmt.Sprintf("x-pad-%d", i), Value: strings.Repeat("p", size)})
		}
		return fs
	}

	conn, fr := rawHTTP2(t, addr)
	defer conn.Close()
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	writeHeaders(t, fr, 1, headersBlock(addr, pad(10, 1024)...)) // 10.5 KiB
	writeHeaders(t, fr, 3, headersBlock(addr, hpack.HeaderField{Name: "chat-user", Value: "Small"}))
	var announced, refused bool
	for answered := false; !answered; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection failed before the small request was answered: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if v, ok := f.Value(http2.SettingMaxHeaderListSize); ok && !f.IsAck() {
				if v != 8192 {
					t.Fatalf("SETTINGS_MAX_HEADER_LIST_SIZE = %d, want 8192", v)
				}
				announced = true
			}
		case *http2.RSTStreamFrame:
			refused = refused || f.StreamID == 1
		case *http2.MetaHeadersFrame:
			if f.StreamID == 1 {
				t.Fatalf("the oversized request was answered: %v", f.Fields)
			}
			answered = f.StreamID == 3
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v %q: the connection should survive", f.ErrCode, f.DebugData())
		}
	}
	if !announced || !refused {
		t.Fatalf("limit announced %v, oversized request reset %v", announced, refused)
	}

	huge, hfr := rawHTTP2(t, addr)
	defer huge.Close()
	hfr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	// The server may close the connection while this is being written.
	go writeHeadersQuietly(hfr, headersBlock(addr, hpack.HeaderField{Name: "x-pad", Value: strings.Repeat("p", 4<<20)}))
	for {
		f, err := hfr.ReadFrame()
		if err != nil {
			break // closed: refused
		}
		if mh, ok := f.(*http2.MetaHeadersFrame); ok {
			t.Fatalf("the 4 MB request was answered: %v", mh.Fields)
		}
	}
	if err := checkHealth(dial(t, addr, nil)); err != nil {
		t.Fatalf("server after the 4 MB request: %v", err)
	}
}

// writeHeadersQuietly is writeHeaders for a peer that may hang up.
func writeHeadersQuietly(fr *http2.Framer, block []byte) {
	const chunk = 16 << 10
	if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:chunk]}) != nil {
		return
	}
	for rest := block[chunk:]; len(rest) > 0; {
		n := min(chunk, len(rest))
		if fr.WriteContinuation(1, n == len(rest), rest[:n]) != nil {
			return
		}
		rest = rest[n:]
	}
}

// A socket that never sends a byte is closed after -handshake-timeout,
// logged and counted.
func TestSilentSocketIsClosedAfterHandshakeTimeout(t *testing.T) {
	s := start(t, testConfig(t, "-handshake-timeout", "200ms"))
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	begin := time.Now()
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := conn.Read(make([]byte, 512)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("silent socket still open after %v", wait)
			}
			break
		}
	}
	if d := time.Since(begin); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the handshake timeout", d)
	}
	eventually(t, "handshake timeout logged", func() bool {
		return strings.Contains(s.logs.String(), `msg="connection did not finish its handshake in time; closed"`)
	})
	if !hasMetric(t, s, "polychat_server_handshake_timeouts_total 1") {
		t.Fatalf("metrics:\n%s", metricsText(t, s))
	}
}

// A connection without streams is sent GOAWAY after -idle-timeout; one
// with a stream open is left alone.
func TestIdleConnectionIsClosed(t *testing.T) {
	s := start(t, testConfig(t, "-idle-timeout", "300ms"))
	addr := s.Addr().String()
	busy := dial(t, addr, nil)
	alice, _ := join(t, busy, "chat-user", "Alice")

	conn, fr := rawHTTP2(t, addr)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY before %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if string(ga.DebugData()) != "max_idle" {
				t.Fatalf("GOAWAY %v %q, want max_idle", ga.ErrCode, ga.DebugData())
			}
			break
		}
	}
	conn.Close()
	eventually(t, "idle close counted", func() bool {
		return hasMetric(t, s, "polychat_server_idle_connections_closed_total 1")
	})
	if !strings.Contains(s.logs.String(), `msg="closed a connection idle without streams"`) {
		t.Fatalf("no log line:\n%s", s.logs.String())
	}
	// The connection with a stream, open longer than the idle timeout,
	// still works.
	join(t, busy, "chat-user", "Bob")
	if m := recv(t, alice); m.GetMessage() != "Bob joined the room" {
		t.Fatalf("alice got %q", m.GetMessage())
	}
}

// dialFrom connects a client to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) *grpc.ClientConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return d.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func TestMaxConnectionsPerIP(t *testing.T) {
	s := start(t, testConfig(t, "-max-connections-per-ip", "1"))
	addr := s.Addr().String()
	if err := checkHealth(dialFrom(t, "127.0.0.1", addr)); err != nil {
		t.Fatal(err)
	}
	if err := checkHealth(dialFrom(t, "127.0.0.1", addr)); status.Code(err) != codes.Unavailable {
		t.Fatalf("second connection from 127.0.0.1: %v, want UNAVAILABLE", err)
	}
	if err := checkHealth(dialFrom(t, "127.0.0.2", addr)); err != nil {
		t.Fatalf("connection from 127.0.0.2: %v", err)
	}
	if !strings.Contains(s.logs.String(), `level=WARN msg="too many connections from one address; closed a new one"`) {
		t.Fatalf("no warning logged:\n%s", s.logs.String())
	}
	if !hasMetric(t, s, "polychat_server_connections_rejected_per_ip_total 1") {
		t.Fatalf("metrics:\n%s", metricsText(t, s))
	}
}

// openChat opens a chat stream on cc and returns its first message or error.
func openChat(cc *grpc.ClientConn, md ...string) (*chatpb.ChatMessage, error) {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), wait)
	defer cancel()
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
	if err != nil {
		return nil, err
	}
	return st.Recv()
}

// Chat streams opened faster than -stream-rate on one connection, or than
// -stream-rate-per-ip from one address, are refused with
// RESOURCE_EXHAUSTED; health checks are not limited.
func TestStreamOpenRate(t *testing.T) {
	s := start(t, testConfig(t, "-stream-rate", "0.001", "-stream-burst", "3",
		"-stream-rate-per-ip", "0.001", "-stream-burst-per-ip", "5"))
	addr := s.Addr().String()
	one := dialFrom(t, "127.0.0.1", addr)
	for i := range 3 {
		if _, err := openChat(one); err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
	}
	_, err := openChat(one)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "per second on one connection") {
		t.Fatalf("fourth stream on one connection: %v, want RESOURCE_EXHAUSTED", err)
	}
	if err := checkHealth(one); err != nil {
		t.Fatalf("health check on the limited connection: %v", err)
	}
	two := dialFrom(t, "127.0.0.1", addr)
	for i := range 2 {
		if _, err := openChat(two); err != nil {
			t.Fatalf("stream %d on a second connection: %v", i+1, err)
		}
	}
	_, err = openChat(two)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "per second from one address") {
		t.Fatalf("sixth stream from one address: %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err := openChat(dialFrom(t, "127.0.0.2", addr)); err != nil {
		t.Fatalf("stream from another address: %v", err)
	}
	metrics := metricsText(t, s)
	for _, want := range []string{
		`polychat_server_streams_refused_total{limit="connection_rate"} 1`,
		`polychat_server_streams_refused_total{limit="ip_rate"} 1`,
	} {
		if !strings.Contains(metrics, "\n"+want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(s.logs.String(), `msg="stream opened too fast; refused"`) {
		t.Errorf("no warning logged:\n%s", s.logs.String())
	}
}

// The room limits reach the chat service, and refusals are counted.
func TestRoomLimits(t *testing.T) {
	s := start(t, testConfig(t, "-max-rooms", "2", "-max-rooms-per-ip", "1"))
	addr := s.Addr().String()
	one := dialFrom(t, "127.0.0.1", addr)
	join(t, one, "chat-room", "a") // open until the test ends
	if _, err := openChat(one, "chat-room", "b"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second room from one address: %v", err)
	}
	join(t, dialFrom(t, "127.0.0.2", addr), "chat-room", "b")
	three := dialFrom(t, "127.0.0.3", addr)
	if _, err := openChat(three, "chat-room", "c"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third room: %v", err)
	}
	metrics := metricsText(t, s)
	for _, want := range []string{
		`polychat_chat_rooms_refused_total{limit="max_rooms"} 1`,
		`polychat_chat_rooms_refused_total{limit="max_rooms_per_ip"} 1`,
	} {
		if !strings.Contains(metrics, "\n"+want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
