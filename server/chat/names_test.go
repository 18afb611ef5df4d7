package chat

import (
	"testing"

	"github.com/polychat/polychat/internal/chatwire"
)

// Names that look alike are made distinct like equal ones, and none may
// look like the reserved name.
func TestLookAlikeNamesAreMadeDistinct(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	for _, tc := range []struct{ ask, get string }{
		{"\u0410lice", "\u0410lice(2)"}, // Cyrillic A
		{"ALICE", "ALICE(3)"},
		{"\u0405ystem", "\u0405ystem(2)"}, // Cyrillic DZE for S
		{"SYSTEM", "SYSTEM(3)"},           // "\u0405ystem(2)" looks the same as "SYSTEM(2)"
	} {
		c := newClient(t, ts.open(t, nil, chatwire.UserKey+"-bin", tc.ask))
		c.expect(kSys, "Welcome, "+tc.get+"! You are in room general.")
		alice.expect(kJoin, tc.get+" joined the room")
	}
}

// Names and rooms are normalised: NFC, trimmed, inner spaces collapsed.
func TestNamesAreNormalised(t *testing.T) {
	ts := startServer(t, Config{})
	c := newClient(t, ts.open(t, nil, chatwire.UserKey+"-bin", "  Jose\u0301 \u00a0 Garci\u0301a ", chatwire.RoomKey+"-bin", "Cafe\u0301"))
	c.expect(kSys, "Welcome, José García! You are in room Café.")
	// The composed spelling is the same name and the same room.
	d := newClient(t, ts.open(t, nil, chatwire.UserKey+"-bin", "José García", chatwire.RoomKey+"-bin", "Café"))
	d.expect(kSys, "Welcome, José García(2)! You are in room Café.")
	c.expect(kJoin, "José García(2) joined the room")
}
