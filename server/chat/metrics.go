package chat

import "google.golang.org/grpc/codes"

// Metrics receives the chat's events, e.g. to export them to Prometheus
// (package server/metrics). Its methods are called on hot paths and
// concurrently: they must be cheap and must not block.
type Metrics interface {
	// ClientJoined and ClientLeft bracket a member's time in a room.
	ClientJoined()
	ClientLeft()
	// RoomOpened and RoomClosed bracket a room's life (its first member
	// joining, its last leaving).
	RoomOpened()
	RoomClosed()
	// MessageReceived counts a text message a client sent to its room.
	MessageReceived()
	// MessageSent counts a message sent to a client (text, notices, history).
	MessageSent()
	// SlowClientDropped counts a member disconnected for not reading.
	SlowClientDropped()
	// SenderPaced counts a text whose sender waited because its room was
	// congested (see pace.go).
	SenderPaced()
	// RateLimited counts a member disconnected for sending too fast.
	RateLimited()
	// StreamEnded counts a chat stream ending (rejected streams too) with
	// the status code it ended with.
	StreamEnded(code codes.Code)
	// NoticesHeldBack counts a join or leave notice held back by the
	// room's notice rate (and summed up later).
	NoticesHeldBack()
	// RoomRefused counts a join refused because it would create a room
	// over limit (LimitMaxRooms or LimitMaxRoomsPerIP).
	RoomRefused(limit string)
	// RoomExpired counts an empty room whose history was deleted after the
	// retention period.
	RoomExpired()
	// FileExpired counts a shared (or only offered) file deleted after the
	// file retention period or with its room's history.
	FileExpired()
	// MemberDropped counts a member whose stream ended without a leave and
	// whose name is kept for the resume grace period.
	MemberDropped()
	// MemberResumed counts a stream that resumed a membership.
	MemberResumed()
	// ResumeRefused counts a stream that asked to resume a membership and
	// joined as a new member instead (or was refused), by reason (the
	// Resume… constants).
	ResumeRefused(reason string)
	// GraceExpired counts a dropped member whose grace period ended
	// without a resume: the room is told it left.
	GraceExpired()
}

// Reasons a resume is refused, as Metrics.ResumeRefused gets them.
const (
	ResumeOff        = "resume_off"  // resuming is turned off
	ResumeStoreReset = "store_reset" // the token is from another store (epoch)
	ResumeUnknown    = "expired"     // the session expired, or never was
	ResumeOtherRoom  = "other_room"  // the token is for another room
	ResumeOtherUser  = "other_user"  // signed in as another user (PERMISSION_DENIED)
)

// Limits a new room can be refused by, as Metrics.RoomRefused gets them.
const (
	LimitMaxRooms      = "max_rooms"
	LimitMaxRoomsPerIP = "max_rooms_per_ip"
)

// noMetrics is the Metrics of a Service configured without any.
type noMetrics struct{}

func (noMetrics) ClientJoined()          {}
func (noMetrics) ClientLeft()            {}
func (noMetrics) RoomOpened()            {}
func (noMetrics) RoomClosed()            {}
func (noMetrics) MessageReceived()       {}
func (noMetrics) MessageSent()           {}
func (noMetrics) SlowClientDropped()     {}
func (noMetrics) RateLimited()           {}
func (noMetrics) SenderPaced()           {}
func (noMetrics) StreamEnded(codes.Code) {}
func (noMetrics) NoticesHeldBack()       {}
func (noMetrics) RoomRefused(string)     {}
func (noMetrics) RoomExpired()           {}
func (noMetrics) FileExpired()           {}
func (noMetrics) MemberDropped()         {}
func (noMetrics) MemberResumed()         {}
func (noMetrics) ResumeRefused(string)   {}
func (noMetrics) GraceExpired()          {}
