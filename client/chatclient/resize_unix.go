//go:build unix

package chatclient

import (
	"os"
	"os/signal"
	"syscall"
)

// watchResize calls resize whenever the terminal window changes size
// (SIGWINCH), until the returned stop func is called.
func watchResize(resize func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sig, syscall.SIGWINCH)
	go func() {
		for {
			select {
			case <-sig:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}
