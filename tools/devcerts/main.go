// Command devcerts creates a development certificate authority and TLS
// certificates for Polychat ("make certs" runs it):
//
//	go run ./tools/devcerts -out certs
//
// It writes ca.pem, ca-key.pem, server.pem, server-key.pem (for localhost,
// 127.0.0.1 and ::1), client.pem and client-key.pem (client-auth usage, CN
// "polychat-client"), all ECDSA P-256. Keys are written with mode 0600. It
// refuses to overwrite existing files unless -force is given. The files are
// for development only.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/tools/devcerts/certgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devcerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "certs", "folder to write the certificates and keys to")
	hosts := fs.String("hosts", strings.Join(certgen.DefaultHosts, ","), "comma-separated DNS names and IP addresses for the server certificate")
	client := fs.String("client-name", certgen.DefaultClientName, "common name of the client certificate")
	days := fs.Int("days", int(certgen.DefaultValidity/(24*time.Hour)), "days the server and client certificates are valid (the CA: ten times as long)")
	force := fs.Bool("force", false, "replace existing files")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./tools/devcerts [flags]\n\nCreates a development CA and server/client certificates for Polychat's TLS and mutual TLS.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := cli.Parse(fs, args)
	if err != nil {
		return cli.Fail(stderr, "devcerts", err)
	}
	if len(rest) > 0 {
		return cli.Fail(stderr, "devcerts", fmt.Errorf("unexpected argument %q", rest[0]))
	}
	if *days <= 0 {
		return cli.Fail(stderr, "devcerts", fmt.Errorf("-days must be more than 0, not %d", *days))
	}
	var hostList []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hostList = append(hostList, h)
		}
	}
	if len(hostList) == 0 {
		return cli.Fail(stderr, "devcerts", fmt.Errorf("-hosts must name at least one host"))
	}
	p, err := certgen.Generate(*out, certgen.Options{
		Hosts:      hostList,
		ClientName: *client,
		Validity:   time.Duration(*days) * 24 * time.Hour,
		Force:      *force,
	})
	if err != nil {
		fmt.Fprintf(stderr, "devcerts: %v\n", err)
		return cli.ExitError
	}
	fmt.Fprintf(stdout, "wrote %s, %s (CA)\n      %s, %s (server: %s)\n      %s, %s (client: %s)\n",
		p.CA, p.CAKey, p.Server, p.ServerKey, strings.Join(hostList, ", "), p.Client, p.ClientKey, *client)
	return cli.ExitOK
}
