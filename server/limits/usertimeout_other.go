//go:build !linux

package limits

import (
	"net"
	"time"
)

func setUserTimeout(net.Conn, time.Duration) {}
