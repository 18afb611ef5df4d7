// Command abuse measures what hostile clients cost a running chat server,
// one scenario per run, and prints one line of figures:
//
//	headers  RSS while 2 connections x 16 streams each send 4 MB of headers
//	silent   how long a socket that never sends a byte keeps its connection
//	rooms    RSS after 300 rooms each get 50 x 4 KB messages and are left empty
//	notices  join/leave notices per second that one connection makes reach a member
//
// The server is started by the caller; -pid names it for RSS readings. For
// "rooms", start the server with -rate 0 so the fill is not rate limited.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50053", "chat server address")
	pid := flag.Int("pid", 0, "server process id, for RSS")
	mode := flag.String("mode", "", "headers, silent, rooms or notices")
	dur := flag.Duration("for", 3*time.Second, "notices: how long to churn")
	flag.Parse()
	var err error
	switch *mode {
	case "headers":
		err = headers(*addr, *pid)
	case "silent":
		err = silent(*addr)
	case "rooms":
		err = rooms(*addr, *pid)
	case "notices":
		err = notices(*addr, *dur)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(1)
	}
}

// rssKB reads a process's resident set size.
func rssKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// headers opens 2 raw HTTP/2 connections with 16 streams each whose header
// list carries 4 MB, keeps them open, and reads the server's RSS.
func headers(addr string, pid int) error {
	before := rssKB(pid)
	var frames [2]map[string]int
	var conns []net.Conn
	var mu sync.Mutex
	for c := range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		conns = append(conns, conn)
		if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
			return err
		}
		fr := http2.NewFramer(conn, conn)
		if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
			return err
		}
		frames[c] = map[string]int{}
		seen := frames[c]
		go func() {
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					mu.Lock()
					seen["closed:"+err.Error()]++
					mu.Unlock()
					return
				}
				name := f.Header().Type.String()
				if rst, ok := f.(*http2.RSTStreamFrame); ok {
					name += ":" + rst.ErrCode.String()
				}
				mu.Lock()
				seen[name]++
				mu.Unlock()
			}
		}()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		pad := strings.Repeat("x", 4<<20)
		for s := range 16 {
			hb.Reset()
			for _, f := range [][2]string{
				{":method", "POST"}, {":scheme", "http"}, {":path", "/chat.ChatService/ChatStream"},
				{":authority", addr}, {"content-type", "application/grpc"}, {"te", "trailers"},
				{"chat-room", fmt.Sprintf("hdr%d", c)}, {"x-pad", pad},
			} {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			block := hb.Bytes()
			id := uint32(2*s + 1)
			const chunk = 16 << 10
			first := block[:chunk]
			err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first})
			for rest := block[chunk:]; len(rest) > 0 && err == nil; {
				n := min(chunk, len(rest))
				err = fr.WriteContinuation(id, n == len(rest), rest[:n])
				rest = rest[n:]
			}
			if err != nil { // the server hung up: that is a refusal
				mu.Lock()
				seen[fmt.Sprintf("write failed at stream %d", id)]++
				mu.Unlock()
				break
			}
		}
	}
	time.Sleep(2 * time.Second) // let the server settle before reading RSS
	after := rssKB(pid)
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("headers: rss_before_kb=%d rss_with_32_streams_kb=%d frames_conn0=%v frames_conn1=%v\n", before, after, frames[0], frames[1])
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// silent opens a socket, sends nothing and times how long the server keeps it.
func silent(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	buf := make([]byte, 4096)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Minute)); err != nil {
			return err
		}
		if _, err := conn.Read(buf); err != nil {
			fmt.Printf("silent: server closed a silent socket after %.1fs (%v)\n", time.Since(start).Seconds(), err)
			return nil
		}
	}
}

func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// rooms fills 300 rooms with 50 messages of 4 KB each, leaves them all and
// reads the server's RSS.
func rooms(addr string, pid int) error {
	cc, err := dial(addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	before := rssKB(pid)
	text := strings.Repeat("r", 4000)
	refused := 0
	for i := range 300 {
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "chat-room", fmt.Sprintf("room-%03d", i), "chat-user", "filler"))
		st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
		if err != nil {
			cancel()
			return err
		}
		if _, err := st.Recv(); err != nil {
			cancel()
			refused++
			continue
		}
		for range 50 {
			if err := st.Send(&chatpb.ChatMessage{Message: text}); err != nil {
				break
			}
		}
		_ = st.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE})
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
		cancel()
	}
	time.Sleep(2 * time.Second) // let pending history writes finish
	fmt.Printf("rooms: rss_before_kb=%d rss_after_300_rooms_kb=%d refused=%d\n", before, rssKB(pid), refused)
	return nil
}

// notices has one member listen in a room while another connection joins
// and leaves it as fast as it can, and counts the join/leave notices the
// member receives per second.
func notices(addr string, dur time.Duration) error {
	watch, err := dial(addr)
	if err != nil {
		return err
	}
	defer watch.Close()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "chat-room", "lobby", "chat-user", "watcher"))
	defer cancel()
	st, err := chatpb.NewChatServiceClient(watch).ChatStream(ctx)
	if err != nil {
		return err
	}
	if _, err := st.Recv(); err != nil {
		return err
	}
	var got, summaries atomic.Int64
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				return
			}
			switch m.GetKind() {
			case chatpb.ChatMessage_KIND_JOIN, chatpb.ChatMessage_KIND_LEAVE:
				got.Add(1)
			case chatpb.ChatMessage_KIND_SYSTEM:
				summaries.Add(1)
			}
		}
	}()
	churn, err := dial(addr)
	if err != nil {
		return err
	}
	defer churn.Close()
	name := strings.Repeat("N", 64)
	deadline := time.Now().Add(dur)
	var opened, refused int
	var lastErr error
	for time.Now().Before(deadline) {
		c, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "chat-room", "lobby", "chat-user", name))
		s, err := chatpb.NewChatServiceClient(churn).ChatStream(c)
		if err == nil {
			_, err = s.Recv()
		}
		if err != nil {
			refused++
			lastErr = err
		} else {
			opened++
		}
		cancel()
	}
	time.Sleep(1500 * time.Millisecond) // let queued notices and any summary arrive
	secs := dur.Seconds()
	fmt.Printf("notices: opened=%d refused=%d (%v) join_leave_notices_per_s=%.0f system_notices=%d\n",
		opened, refused, errors.Unwrap(lastErr), float64(got.Load())/secs, summaries.Load())
	if lastErr != nil {
		fmt.Printf("notices: last refusal: %v\n", lastErr)
	}
	return nil
}
