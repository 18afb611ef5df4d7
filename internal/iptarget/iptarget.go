// Package iptarget gives grpc-go the "ipv4:" and "ipv6:" target schemes of
// gRPC's naming rules (https://github.com/grpc/grpc/blob/master/doc/naming.md),
// which gRPC's C core (and so the Python client) has built in and grpc-go
// has not: ipv4:10.0.0.1:50053,10.0.0.2:50053 names several servers, and
// gRPC picks the first that answers, and another when it is lost. A port
// left out is 443, as in the C core. Importing the package registers the
// schemes.
package iptarget

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/resolver"
)

// defaultPort is the port of an address given without one (gRPC's rule).
const defaultPort = "443"

func init() {
	resolver.Register(builder{scheme: "ipv4"})
	resolver.Register(builder{scheme: "ipv6"})
}

// builder resolves a target of its scheme to the addresses it lists.
type builder struct{ scheme string }

func (b builder) Scheme() string { return b.scheme }

func (b builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	addrs, err := Parse(b.scheme, target.Endpoint())
	if err != nil {
		return nil, err
	}
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	if err := cc.UpdateState(state); err != nil {
		return nil, err
	}
	return fixed{}, nil
}

// fixed is a resolver whose addresses never change.
type fixed struct{}

func (fixed) ResolveNow(resolver.ResolveNowOptions) {}
func (fixed) Close()                                {}

// Parse returns the host:port addresses that list, the part of an
// "ipv4:" or "ipv6:" target after the scheme, names: comma-separated IP
// addresses of the scheme's family, each with an optional port (IPv6 ones
// in brackets when they have a port).
func Parse(scheme, list string) ([]string, error) {
	family := "IPv4"
	if scheme == "ipv6" {
		family = "IPv6"
	}
	var out []string
	for _, item := range strings.Split(list, ",") {
		host, port, err := net.SplitHostPort(item)
		if err != nil {
			host, port = strings.TrimSuffix(strings.TrimPrefix(item, "["), "]"), defaultPort
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || (scheme == "ipv4") != ip.Is4() {
			return nil, fmt.Errorf("%s target: %q is not an %s address", scheme, item, family)
		}
		if p, err := netip.ParseAddrPort(net.JoinHostPort(host, port)); err != nil || p.Port() == 0 {
			return nil, fmt.Errorf("%s target: %q has no valid port", scheme, item)
		}
		out = append(out, net.JoinHostPort(ip.String(), port))
	}
	return out, nil
}
