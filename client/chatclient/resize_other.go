//go:build !unix

package chatclient

// watchResize does nothing where there is no SIGWINCH.
func watchResize(func()) (stop func()) { return func() {} }
