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
	// RateLimited counts a member disconnected for sending too fast.
	RateLimited()
	// StreamEnded counts a chat stream ending (rejected streams too) with
	// the status code it ended with.
	StreamEnded(code codes.Code)
}

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
func (noMetrics) StreamEnded(codes.Code) {}
