package broker

import (
	"testing"

	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func TestRecordRoundTrip(t *testing.T) {
	var rec []byte
	for i, origin := range []string{"m1", "", "m2"} {
		to := ""
		if i == 2 {
			to = "m9"
		}
		data, err := proto.Marshal(&chatpb.ChatMessage{User: "u", Message: string(rune('a' + i)), Seq: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		rec = appendEntry(rec, data, origin, to)
	}
	ds, err := decodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 || ds[0].Origin != "m1" || ds[1].Origin != "" || ds[2].Msg.GetMessage() != "c" || ds[2].Msg.GetSeq() != 3 ||
		ds[0].To != "" || ds[2].To != "m9" {
		t.Fatalf("decoded %+v", ds)
	}
	if ds, err := decodeRecord(nil); err != nil || len(ds) != 0 {
		t.Fatalf("empty record: %v %v", ds, err)
	}
	for _, bad := range [][]byte{{0x0a}, {0x0a, 0x05, 0x0a}, {0x0a, 0x02, 0x0a, 0x7f}} {
		if _, err := decodeRecord(bad); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
}

func TestTokensRoundTrip(t *testing.T) {
	for _, s := range []string{"", "general", "a.b", "*", ">", "日本語", "a b\tc"} {
		tok := token(s)
		for _, c := range tok {
			if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Fatalf("token %q of %q has %q", tok, s, c)
			}
		}
		if back, err := untoken(tok); err != nil || back != s {
			t.Fatalf("untoken(%q) = %q, %v", tok, back, err)
		}
		room, skel, err := splitMemberKey(memberKey(s, s+"x"))
		if err != nil || room != s || skel != s+"x" {
			t.Fatalf("member key of %q: %q %q %v", s, room, skel, err)
		}
	}
	if _, err := untoken("general"); err == nil {
		t.Fatal("a plain word decoded as a token")
	}
}
