package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// Ping-pong mode (-pingpong N): two clients in a room of their own, each
// on a connection of its own, pass one text back and forth N times, so
// that exactly one message is in flight: what is measured is a message's
// latency through an idle server, not a queue's. Each hop's latency runs
// from the text's client_sent_at to its receipt; -warmup-hops first hops
// are not counted.

// PingPongReport is the ping-pong result: one-way latency over every
// counted hop, and the round trips' (two hops).
type PingPongReport struct {
	Hops      int     `json:"hops"`
	OneWay    Latency `json:"one_way"`
	RoundTrip Latency `json:"round_trip"`
	Seconds   float64 `json:"seconds"`
}

// player is one side of the ping-pong.
type player struct {
	stream grpc.BidiStreamingClient[chatpb.ChatMessage, chatpb.ChatMessage]
	cancel context.CancelFunc
}

// join opens a stream as user in room on conn and waits for its welcome.
func joinPlayer(conn *grpc.ClientConn, user, room string, timeout time.Duration) (*player, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ctx = metadata.AppendToOutgoingContext(ctx, chatwire.UserKey, user, chatwire.RoomKey, room)
	st, err := chatpb.NewChatServiceClient(conn).ChatStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	p := &player{stream: st, cancel: cancel}
	got := make(chan error, 1)
	go func() {
		var d delivery
		got <- st.RecvMsg(&d)
	}()
	select {
	case err := <-got:
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s: no welcome: %w", user, err)
		}
	case <-time.After(timeout):
		cancel()
		return nil, fmt.Errorf("%s: no welcome after %s", user, timeout)
	}
	return p, nil
}

// hop sends one text from p and waits until to receives it (skipping
// notices), returning its latency from client_sent_at.
func hop(p, to *player, payload string) (time.Duration, error) {
	if err := p.stream.Send(&chatpb.ChatMessage{Message: payload, ClientSentAt: timestamppb.Now()}); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	var d delivery
	for {
		if err := to.stream.RecvMsg(&d); err != nil {
			return 0, fmt.Errorf("receive: %w", err)
		}
		if d.kind == kindText && d.sentAt != 0 {
			return time.Duration(time.Now().UnixNano() - d.sentAt), nil
		}
	}
}

// runPingPong plays cfg.pingPong counted hops (after cfg.warmupHops).
func (lg *loadgen) runPingPong() (*PingPongReport, error) {
	cfg := lg.cfg
	room := cfg.room + "-pingpong-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var players [2]*player
	for i := range players {
		conn, err := dial(cfg.addrs[i%len(cfg.addrs)])
		if err != nil {
			return nil, err
		}
		lg.conns = append(lg.conns, conn)
		p, err := joinPlayer(conn, "pp"+strconv.Itoa(i), room, cfg.connectTimeout)
		if err != nil {
			return nil, err
		}
		defer p.cancel()
		players[i] = p
	}
	payload := strings.Repeat("x", cfg.payload)
	oneWay, roundTrip := &hist{}, &hist{}
	start := time.Now()
	total := cfg.warmupHops + cfg.pingPong
	total += total % 2 // whole round trips
	var first time.Duration
	for i := range total {
		from, to := players[i%2], players[(i+1)%2]
		d, err := hop(from, to, payload)
		if err != nil {
			return nil, fmt.Errorf("hop %d: %w", i, err)
		}
		if i < cfg.warmupHops {
			continue
		}
		oneWay.Record(d.Microseconds())
		if i%2 == 0 {
			first = d
		} else {
			roundTrip.Record((first + d).Microseconds())
		}
	}
	rep := &PingPongReport{
		Hops:      int(oneWay.Count()),
		OneWay:    latencyOf(oneWay),
		RoundTrip: latencyOf(roundTrip),
		Seconds:   round(time.Since(start).Seconds(), 2),
	}
	logf("ping-pong: %d hops, one-way p50 %.3f ms, p99 %.3f ms", rep.Hops, rep.OneWay.P50, rep.OneWay.P99)
	return rep, nil
}
