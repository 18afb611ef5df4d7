package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the file in -data-dir that a running chat server holds
// locked, with its process id in it.
const lockFileName = "chat-server.lock"

// errDataDirInUse is what lockFile returns when another process holds the
// lock.
var errDataDirInUse = errors.New("in use")

// useDataDir makes dir (none: nothing kept on disk, and nil is returned)
// if it does not exist, checks that a file can be written and synced in
// it, and locks it for this server alone: the embedded NATS server's store
// must never be opened by two processes at once. A folder the server
// cannot use is one line at start, not a server waiting for NATS to store
// nothing. Close the returned file to release the lock.
func useDataDir(dir string) (*os.File, error) {
	if dir == "" {
		return nil, nil
	}
	cannot := func(err error) error { return fmt.Errorf("cannot use -data-dir %s: %w", dir, err) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, cannot(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, cannot(err)
	}
	if err := lockFile(f); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, errDataDirInUse) {
			who := "another chat server"
			if p := strings.TrimSpace(string(pid)); p != "" {
				who += " (process " + p + ")"
			}
			return nil, cannot(fmt.Errorf("%s is using it; stop it first, or give this one another -data-dir", who))
		}
		return nil, cannot(err)
	}
	// Writing the pid also checks that the folder takes writes.
	if err := writePID(f); err != nil {
		f.Close()
		return nil, cannot(err)
	}
	return f, nil
}

// writePID writes this process's id to f, synced.
func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}
