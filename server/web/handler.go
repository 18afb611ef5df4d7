// Package web serves the chat in the browser: the chat page (static files
// built from web/ and embedded in the binary) and, on the same origin, the
// chat RPCs over the Connect protocol and gRPC-Web, which browsers can
// speak. The RPCs are not implemented twice: a vanguard transcoder turns
// each browser call into a gRPC call to the server's own grpc.Server, so a
// browser is served by the same ChatService, interceptors and limits as a
// terminal client.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"connectrpc.com/vanguard"
	"google.golang.org/grpc"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// dist is the built page: `make web` writes it from web/, and it is
// committed, so that `go run server/main.go` serves the page without Node.
//
//go:embed dist
var dist embed.FS

// ContentSecurityPolicy lets the page load its own script, style and icon
// and call its own origin, and nothing else: no inline script or style, no
// framing, no form posts. Text from the network is only ever set as text,
// so even a bug there could not run script the policy did not allow.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// securityHeaders are set on every answer, the page's and the RPCs'.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      ContentSecurityPolicy,
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

// Handler returns the web port's handler: the page at "/" and the
// chat.ChatService RPCs under "/chat.ChatService/", served by srv (on which
// the ChatService must be registered). With auth set (sign-in required),
// AuthService.Login and Logout are served too, by calling auth. A request
// body over maxRequestBytes is refused.
func Handler(srv *grpc.Server, auth authv1.AuthServiceClient, maxRequestBytes int) (http.Handler, error) {
	services := []*vanguard.Service{vanguard.NewService(chatpb.ChatService_ServiceDesc.ServiceName, srv)}
	if auth != nil {
		services = append(services, vanguard.NewService(authv1.AuthService_ServiceDesc.ServiceName, newSignInServer(auth)))
	}
	rpc, err := vanguard.NewTranscoder(services, vanguard.WithDefaultServiceOptions(
		// The server's codec is proto only: JSON from a browser is
		// transcoded here, proto passes through as it is.
		vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
		vanguard.WithTargetCodecs(vanguard.CodecProto),
		vanguard.WithMaxMessageBufferBytes(uint32(maxRequestBytes)),
	))
	if err != nil {
		return nil, fmt.Errorf("serving the chat RPCs to browsers: %w", err)
	}
	page, err := pageHandler()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	limited := http.MaxBytesHandler(rpc, int64(maxRequestBytes))
	mux.Handle("/"+chatpb.ChatService_ServiceDesc.ServiceName+"/", limited)
	if auth != nil {
		mux.Handle("/"+authv1.AuthService_ServiceDesc.ServiceName+"/", limited)
	}
	mux.Handle("/", page)
	return withSecurityHeaders(mux), nil
}

// withSecurityHeaders sets securityHeaders on every answer of h.
func withSecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		h.ServeHTTP(w, r)
	})
}

// pageHandler serves the files of dist to GET and HEAD, each with an ETag
// of its content and "Cache-Control: no-cache", so a browser revalidates
// and picks up a new build at once.
func pageHandler() (http.Handler, error) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	etags := make(map[string]string)
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		etags["/"+path] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded page: %w", err)
	}
	if etags["/index.html"] == "" {
		return nil, fmt.Errorf("the embedded page has no index.html: run 'make web'")
	}
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		path := r.URL.Path
		if strings.HasSuffix(path, "/") {
			path += "index.html"
		}
		if tag, ok := etags[path]; ok {
			w.Header().Set("ETag", tag)
		}
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}), nil
}
