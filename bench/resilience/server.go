package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// server is the chat server under test, run as a child process that can be
// killed and started again with the same command (same port, same data
// directory).
type server struct {
	args []string
	addr string // where it listens
	log  *os.File
	cmd  *exec.Cmd
	// exited is closed once the running process has exited.
	exited chan struct{}
}

// start runs the server and returns once it accepts connections.
func (s *server) start(timeout time.Duration) error {
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// Its own process group, and killed with the bench if the bench dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.args[0], err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		select {
		case <-exited:
			return fmt.Errorf("server exited (%s) before listening on %s", cmd.ProcessState, s.addr)
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("server not listening on %s after %s", s.addr, timeout)
}

// kill ends the server with SIGKILL: nothing it has not written survives.
func (s *server) kill() error {
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 server: %w", err)
	}
	<-s.exited
	return nil
}

// stop ends the server with SIGTERM, SIGKILL if it is still there after
// grace.
func (s *server) stop(grace time.Duration) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}
