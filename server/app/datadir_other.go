//go:build !unix

package app

import "os"

// lockFile does nothing where flock(2) is missing: there, running two chat
// servers on one -data-dir is left to the user to avoid.
func lockFile(*os.File) error { return nil }
