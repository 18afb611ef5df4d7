package chat

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// noticeSummaryDelay is how long after the first held-back notice the
// summary of the held-back notices is sent (Service.summaryDelay, which
// tests change).
const noticeSummaryDelay = time.Second

// noticeLimit bounds the join and leave notices of a room. Guarded by the
// room's mu.
type noticeLimit struct {
	limiter       *rate.Limiter // nil until the room's first notice
	joins, leaves int           // held back since the last summary
	summary       *time.Timer   // pending summary, if any
}

// noticeLocked tells r's members that someone joined or left (kind
// KIND_JOIN or KIND_LEAVE). In a big room (BigRoom members or more, on
// every node) the notice is only counted: one system notice per
// BigRoomSummary sums up the joins and leaves, so that filling a room of
// n costs O(n) notices, not O(n²), and who is here is what the presence
// list is for. In a smaller room, over NoticeRate, the notice is held back
// and counted too, and one system notice a moment later sums up the held
// back ones: members of a busy room learn how many came and went without
// anyone being able to flood them with names. about is the member the
// notice is about, who is not told (nil: none). r.mu must be held.
func (s *Service) noticeLocked(r *room, kind chatpb.ChatMessage_Kind, text string, about *member) {
	if len(r.members) == 0 {
		// Nobody here to tell, but other nodes may have members; the
		// notice costs this node's limit nothing.
		s.announceLocked(r, kind, text, about)
		return
	}
	n := &r.notices
	if s.bigLocked(r) {
		n.count(kind)
		s.metrics.NoticesHeldBack()
		if n.summary == nil {
			n.summary = time.AfterFunc(s.cfg.BigRoomSummary, func() { s.summarise(r) })
		}
		return
	}
	if s.cfg.NoticeRate > 0 {
		if n.limiter == nil {
			n.limiter = rate.NewLimiter(rate.Limit(s.cfg.NoticeRate), s.cfg.NoticeBurst)
		}
		if !n.limiter.Allow() {
			n.count(kind)
			s.metrics.NoticesHeldBack()
			if n.summary == nil {
				n.summary = time.AfterFunc(s.summaryDelay, func() { s.summarise(r) })
			}
			return
		}
	}
	s.announceLocked(r, kind, text, about)
}

// count counts a join or leave notice held back for the summary.
func (n *noticeLimit) count(kind chatpb.ChatMessage_Kind) {
	if kind == chatpb.ChatMessage_KIND_JOIN {
		n.joins++
	} else {
		n.leaves++
	}
}

// bigLocked reports whether r is a big room, whose join and leave notices
// are summed up: BigRoom members or more, counting the member the notice
// is about, here or on every node as far as the directory knows. r.mu
// must be held.
func (s *Service) bigLocked(r *room) bool {
	if s.cfg.BigRoom <= 0 {
		return false
	}
	// The member joining is not among r.members yet, nor is the one
	// leaving any more; the directory may count either.
	return len(r.members)+1 >= s.cfg.BigRoom || s.dir.size(r.name) >= s.cfg.BigRoom
}

// summarise sends r's members the summary of the notices held back.
func (s *Service) summarise(r *room) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.notices
	joins, leaves := n.joins, n.leaves
	n.joins, n.leaves, n.summary = 0, 0, nil
	if r.closed || joins+leaves == 0 {
		return
	}
	s.announceLocked(r, chatpb.ChatMessage_KIND_SYSTEM, summaryText(joins, leaves), nil)
}

// summaryText is the readable summary of held-back notices, e.g. "12
// joined and 11 left the room (too many to list one by one)".
func summaryText(joins, leaves int) string {
	var parts []string
	if joins > 0 {
		parts = append(parts, fmt.Sprintf("%d joined", joins))
	}
	if leaves > 0 {
		parts = append(parts, fmt.Sprintf("%d left", leaves))
	}
	return strings.Join(parts, " and ") + " the room (too many to list one by one)"
}

// leftLocked tells r that m left once m's name is free in the broker (its
// release runs off the lock, queued before this): whoever sees the notice
// can take the name at once. m.settled then waits for the notice too, so
// that a leave is told (or counted) by the time its stream ends. r.mu must
// be held.
func (s *Service) leftLocked(r *room, m *member) {
	if r.closed {
		return
	}
	text := m.name + " left the room"
	if m.settled == nil {
		s.noticeLocked(r, chatpb.ChatMessage_KIND_LEAVE, text, nil)
		return
	}
	m.settled = r.offLockLocked(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.closed {
			s.noticeLocked(r, chatpb.ChatMessage_KIND_LEAVE, text, nil)
		}
	})
}
