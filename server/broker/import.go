package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// Counters the chat keeps in the broker.
const (
	// MessageIDs numbers chat messages, across nodes and restarts.
	MessageIDs = "message_ids"
	// ClientNumbers numbers the streams, for Client(N) names.
	ClientNumbers = "client_numbers"
)

// ImportRoom stores msgs, the kept texts of room from an older store
// (oldest first, with their ids and seqs), so that the room's history and
// seqs go on from them; last is the room's last seq, kept even when its
// history is empty. It may be called again after an interrupted import:
// the texts the broker already has are skipped.
func (b *Broker) ImportRoom(ctx context.Context, room string, msgs []*chatpb.ChatMessage, last uint64) error {
	r := &Room{b: b, name: room, texts: roomSubject(room, textKind)}
	have, _, err := r.readLast(ctx)
	if err != nil {
		return err
	}
	if have >= last {
		return nil // imported already
	}
	for _, msg := range msgs {
		if msg.GetSeq() <= have {
			continue
		}
		data, err := proto.Marshal(msg)
		if err != nil {
			return fmt.Errorf("broker: import room %q: %w", room, err)
		}
		if err := b.importRecord(ctx, r.texts, appendEntry(nil, data, "", ""), msg.GetSeq()); err != nil {
			return err
		}
		have = msg.GetSeq()
	}
	if have < last {
		// No text ends at the room's last seq (its history was deleted):
		// a record of no texts keeps the seq.
		return b.importRecord(ctx, r.texts, nil, last)
	}
	return nil
}

// importRecord stores one record of texts ending at seq.
func (b *Broker) importRecord(ctx context.Context, subject string, rec []byte, seq uint64) error {
	m := &nats.Msg{Subject: subject, Header: nats.Header{seqHeader: []string{strconv.FormatUint(seq, 10)}}, Data: rec}
	if _, err := b.js.PublishMsg(ctx, m, jetstream.WithExpectStream(roomStream)); err != nil {
		return fmt.Errorf("broker: import texts: %w", unavailable(err))
	}
	return nil
}

// ImportMember stores m, a member of an older store's that may resume, as
// held by no chat node: the first node to watch adopts it, dropped since
// m.DroppedAt (or since it adopts it, when zero). A name taken already
// (an import done before) is left as it is.
func (b *Broker) ImportMember(ctx context.Context, m *Member) error {
	m.Node = ""
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("broker: encode member: %w", err)
	}
	_, err = b.members.Create(ctx, m.key(), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("broker: import member: %w", unavailable(err))
	}
	if m.Session != "" {
		if _, err := b.sessions.PutString(ctx, m.Session, m.key()); err != nil {
			return fmt.Errorf("broker: import session: %w", unavailable(err))
		}
	}
	return nil
}
