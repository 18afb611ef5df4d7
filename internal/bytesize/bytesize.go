// Package bytesize words a number of bytes as people read sizes, the same
// in the chat server's share notices and the chat client's status lines
// (pykit/bytesize.py words them alike, for the Python clients and services).
package bytesize

import "fmt"

// Human returns n as "512 bytes", "1 byte" or "1.2 MB": powers of 1000,
// one decimal.
func Human(n int64) string {
	if n < 1000 {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n)
	units := []string{"kB", "MB", "GB", "TB"}
	for i, unit := range units {
		v /= 1000
		if v < 999.95 || i == len(units)-1 {
			return fmt.Sprintf("%.1f %s", v, unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
