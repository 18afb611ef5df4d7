package chat

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
)

// recentIDsSize is how many client message ids are remembered per member.
const recentIDsSize = 1024

// maxClientMsgIDBytes limits a client_msg_id.
const maxClientMsgIDBytes = 64

// session is what lets a member resume after its stream dropped: its name
// in its room, its signed-in user and the client message ids it sent. Its
// fields are guarded by the mu of its room, except id, room and user, which
// never change.
type session struct {
	// id is the hash of the resume token (the key in Service.sessions);
	// "" for a member that cannot resume (resuming is off).
	id   string
	room string
	user string

	// member holds the session: connected, or dropped and reserving the
	// name until timer fires.
	member *member
	timer  *time.Timer
	// seen holds the recent client message ids relayed for the member;
	// nil after a restart until the member resumes.
	seen *recentIDs
	// rec is the membership in the broker; nil once it is freed or
	// another node holds it.
	rec *broker.Member
}

// recentIDs is a bounded set of the last ids added.
type recentIDs struct {
	ring []string
	next int
	set  map[string]struct{}
}

// newRecentIDs returns an empty set. Its map is made by the first add: most
// members send seldom, and an empty map costs a few hundred bytes each.
func newRecentIDs() *recentIDs { return &recentIDs{} }

// add records id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if r.set == nil {
		r.set = make(map[string]struct{})
	}
	if len(r.ring) < recentIDsSize {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % recentIDsSize
	}
	r.set[id] = struct{}{}
	return true
}

// forget removes id, so that it is new again (a message that was refused
// and will be sent again).
func (r *recentIDs) forget(id string) {
	if _, ok := r.set[id]; !ok {
		return
	}
	delete(r.set, id)
	for i, x := range r.ring {
		if x == id {
			r.ring[i] = "" // a slot that frees nothing when reused
			return
		}
	}
}

// last returns up to n of the ids, oldest first.
func (r *recentIDs) last(n int) []string {
	ordered := make([]string, 0, len(r.ring))
	for _, id := range append(r.ring[r.next:len(r.ring):len(r.ring)], r.ring[:r.next]...) {
		if id != "" { // forgotten
			ordered = append(ordered, id)
		}
	}
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}

// checkClientMsgID validates a client_msg_id: at most 64 bytes of printable
// ASCII (empty means none).
func checkClientMsgID(id string) error {
	if len(id) > maxClientMsgIDBytes {
		return status.Errorf(codes.InvalidArgument, "client_msg_id is %d bytes; the limit is %d bytes", len(id), maxClientMsgIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return status.Error(codes.InvalidArgument, "client_msg_id must be printable ASCII (a UUID, say)")
		}
	}
	return nil
}

// newToken returns a new resume token for epoch: the epoch, a dot and 128
// random bits, and the session id it is stored under.
func newToken(epoch string) (token, id string) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	token = epoch + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return token, tokenID(token)
}

// tokenID is the id of the session a token resumes: a hash, so that the
// sessions kept in memory and on disk give nobody a credential.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenEpoch returns the epoch part of a token ("" when it has none).
func tokenEpoch(token string) string {
	epoch, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	return epoch
}

// resumePoint is a parsed chat-resume-from: the epoch and the last text seq
// the client showed in its room.
type resumePoint struct {
	epoch string
	seq   uint64
}

// maxEpochBytes bounds the epoch of a chat-resume-from.
const maxEpochBytes = 64

// parseResumeFrom parses "<epoch>:<seq>". An epoch is 1 to 64 letters,
// digits, '-' or '_'; seq is a decimal number.
func parseResumeFrom(v string) (resumePoint, error) {
	epoch, seq, ok := strings.Cut(v, ":")
	bad := func(why string) (resumePoint, error) {
		return resumePoint{}, status.Errorf(codes.InvalidArgument,
			"%s must be <epoch>:<seq> as the server sent them (e.g. 3f9c0a1b2c3d4e5f:42): %s", chatwire.ResumeFromKey, why)
	}
	if !ok {
		return bad("no ':'")
	}
	if epoch == "" || len(epoch) > maxEpochBytes {
		return bad("the epoch must be 1 to 64 characters")
	}
	if !epochChars(epoch) {
		return bad("the epoch may only hold letters, digits, '-' and '_'")
	}
	if seq == "" || seq[0] == '+' || seq[0] == '-' {
		return bad("the seq must be a number")
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return bad("the seq must be a number")
	}
	return resumePoint{epoch: epoch, seq: n}, nil
}

// epochChars reports whether epoch holds only the characters an epoch may
// have: letters, digits, '-' and '_'.
func epochChars(epoch string) bool {
	for _, c := range epoch {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// replayPlan is what a joining member is sent from its room's history.
type replayPlan struct {
	// block: the history between HISTORY_START and HISTORY_END, as on
	// every join without chat-resume-from; otherwise msgs are replayed
	// without the block.
	block bool
	// reset: the client's resume point is from another epoch (or beyond
	// the room's history): it is told the history was reset.
	reset bool
	// missed counts messages after the resume point that are no longer
	// kept; the client is told before msgs.
	missed uint64
	msgs   []*chatpb.ChatMessage
}

// planReplay decides what a member joining with resume point from (nil:
// none) is sent, given the broker's epoch, the seq of the room's newest
// visible message last, and its visible history hist (oldest first, seqs
// increasing, none above last).
func planReplay(epoch string, last uint64, hist []*chatpb.ChatMessage, from *resumePoint) replayPlan {
	switch {
	case from == nil:
		return replayPlan{block: true, msgs: hist}
	case from.epoch != epoch || from.seq > last:
		// A seq beyond the newest message means the client numbered from
		// another history (a restored backup, say): trust none of it.
		return replayPlan{block: true, reset: true, msgs: hist}
	}
	i := 0
	for i < len(hist) && hist[i].GetSeq() <= from.seq {
		i++
	}
	oldest := last + 1 // the first seq still kept, were the rest lost
	if len(hist) > 0 {
		oldest = hist[0].GetSeq()
	}
	p := replayPlan{msgs: hist[i:]}
	if oldest > from.seq+1 {
		p.missed = oldest - from.seq - 1
	}
	return p
}
