package bytesize

import "testing"

func TestHuman(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1.0 kB",
		1_234_567: "1.2 MB", 999_960: "1.0 MB", 5 << 30: "5.4 GB", 3_000_000_000_000_000: "3000.0 TB"} {
		if got := Human(n); got != want {
			t.Errorf("Human(%d) = %q, want %q", n, got, want)
		}
	}
}
