package chatclient

import (
	"strconv"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// noticeMemory is how many notice ids a dedupe filter remembers.
const noticeMemory = 256

// dedupe drops the messages a session has already shown, and knows where
// the session stands for a resume: the server's store epoch and the last
// text seq shown. Ids and seqs are only comparable within one epoch, so a
// new epoch starts it afresh. Messages without an epoch (a server that
// predates resuming) are never dropped. It is not safe for concurrent use.
type dedupe struct {
	epoch   string
	lastSeq uint64
	notices map[uint64]bool
	ring    []uint64 // the ids in notices, oldest first
}

// admit reports whether msg is new and should be shown, and records it.
// Text carries a seq that increases within the epoch, so one number tells
// what was shown; notices (seq 0) are recognised by id among the last few.
func (d *dedupe) admit(msg *chatpb.ChatMessage) bool {
	epoch := msg.GetEpoch()
	if epoch == "" {
		return true
	}
	if epoch != d.epoch {
		*d = dedupe{epoch: epoch}
	}
	if seq := msg.GetSeq(); seq > 0 {
		if seq <= d.lastSeq {
			return false
		}
		d.lastSeq = seq
		return true
	}
	id := msg.GetId()
	if id == 0 {
		return true
	}
	if d.notices[id] {
		return false
	}
	if d.notices == nil {
		d.notices = make(map[uint64]bool)
	}
	d.notices[id] = true
	d.ring = append(d.ring, id)
	if len(d.ring) > noticeMemory {
		delete(d.notices, d.ring[0])
		d.ring = d.ring[1:]
	}
	return true
}

// resumeFrom returns the chat-resume-from value, "<epoch>:<seq>", or ""
// while no epoch is known.
func (d *dedupe) resumeFrom() string {
	if d.epoch == "" {
		return ""
	}
	return d.epoch + ":" + strconv.FormatUint(d.lastSeq, 10)
}
