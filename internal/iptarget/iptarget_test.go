package iptarget

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		scheme, list string
		want         []string
	}{
		{"ipv4", "127.0.0.1:50061,127.0.0.2:50062", []string{"127.0.0.1:50061", "127.0.0.2:50062"}},
		{"ipv4", "10.0.0.1", []string{"10.0.0.1:443"}},
		{"ipv6", "[::1]:50053,::1", []string{"[::1]:50053", "[::1]:443"}},
	} {
		got, err := Parse(tc.scheme, tc.list)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q, %q) = %v, %v; want %v", tc.scheme, tc.list, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ scheme, list string }{
		{"ipv4", ""}, {"ipv4", "localhost:50053"}, {"ipv4", "::1"}, {"ipv6", "127.0.0.1:1"},
		{"ipv4", "127.0.0.1:0"}, {"ipv4", "127.0.0.1:99999"}, {"ipv4", "127.0.0.1:5,"},
	} {
		if got, err := Parse(bad.scheme, bad.list); err == nil {
			t.Errorf("Parse(%q, %q) = %v, want an error", bad.scheme, bad.list, got)
		}
	}
}

// A client of several addresses reaches a server that answers at one of
// them, though the first refuses connections.
func TestTheFirstServerThatAnswers(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there now
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()

	cc, err := grpc.NewClient("ipv4:"+deadAddr+","+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health through ipv4 target: %v, %v", resp, err)
	}
}
