package broker

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// A record is what one stream message holds: one or more chat messages of a
// room, in order, each with the membership that sent it. Texts published
// together share a record, so that a busy room is written once per batch.
//
// Wire format (protobuf, so that it can be written in a .proto later without
// changing a byte):
//
//	message Record { repeated Entry entries = 1; }
//	message Entry  { bytes message = 1; string origin = 2; string to = 3; }
//
// where message is a marshalled chat.ChatMessage, and to, when set, the one
// membership it is for (a private message and its echo).
const (
	recordEntry   protowire.Number = 1
	entryMessage  protowire.Number = 1
	entryOrigin   protowire.Number = 2
	entryTo       protowire.Number = 3
	maxRecordSize                  = 512 << 10
)

// Delivery is one chat message of a room as the stream holds it.
type Delivery struct {
	// Msg is the message, decoded; treat it as read-only.
	Msg *chatpb.ChatMessage
	// Data is Msg marshalled, as stored: send it as is.
	Data []byte
	// Origin is the membership that sent it (Member.ID), or "" for a
	// notice of the server's.
	Origin string
	// To, when set, is the one membership the message is for: deliver it
	// to that member only, if it is on this node.
	To string
}

// appendEntry appends one entry holding data (a marshalled message),
// origin and to ("" for the whole room) to rec.
func appendEntry(rec, data []byte, origin, to string) []byte {
	size := protowire.SizeTag(entryMessage) + protowire.SizeBytes(len(data))
	if origin != "" {
		size += protowire.SizeTag(entryOrigin) + protowire.SizeBytes(len(origin))
	}
	if to != "" {
		size += protowire.SizeTag(entryTo) + protowire.SizeBytes(len(to))
	}
	rec = protowire.AppendTag(rec, recordEntry, protowire.BytesType)
	rec = protowire.AppendVarint(rec, uint64(size))
	rec = protowire.AppendTag(rec, entryMessage, protowire.BytesType)
	rec = protowire.AppendBytes(rec, data)
	if origin != "" {
		rec = protowire.AppendTag(rec, entryOrigin, protowire.BytesType)
		rec = protowire.AppendString(rec, origin)
	}
	if to != "" {
		rec = protowire.AppendTag(rec, entryTo, protowire.BytesType)
		rec = protowire.AppendString(rec, to)
	}
	return rec
}

// errRecord reports a stream message that is not a record.
var errRecord = errors.New("broker: malformed record")

// decodeRecord returns the deliveries of rec, in order. The Data of each
// aliases rec.
func decodeRecord(rec []byte) ([]Delivery, error) {
	var out []Delivery
	for len(rec) > 0 {
		num, typ, n := protowire.ConsumeTag(rec)
		if n < 0 {
			return nil, errRecord
		}
		rec = rec[n:]
		if num != recordEntry || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, rec)
			if n < 0 {
				return nil, errRecord
			}
			rec = rec[n:]
			continue
		}
		entry, n := protowire.ConsumeBytes(rec)
		if n < 0 {
			return nil, errRecord
		}
		rec = rec[n:]
		d, err := decodeEntry(entry)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// decodeEntry decodes one entry.
func decodeEntry(entry []byte) (Delivery, error) {
	var d Delivery
	for len(entry) > 0 {
		num, typ, n := protowire.ConsumeTag(entry)
		if n < 0 {
			return d, errRecord
		}
		entry = entry[n:]
		switch {
		case num == entryMessage && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(entry)
			if n < 0 {
				return d, errRecord
			}
			d.Data, entry = v, entry[n:]
		case num == entryOrigin && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(entry)
			if n < 0 {
				return d, errRecord
			}
			d.Origin, entry = string(v), entry[n:]
		case num == entryTo && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(entry)
			if n < 0 {
				return d, errRecord
			}
			d.To, entry = string(v), entry[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, entry)
			if n < 0 {
				return d, errRecord
			}
			entry = entry[n:]
		}
	}
	d.Msg = new(chatpb.ChatMessage)
	if err := proto.Unmarshal(d.Data, d.Msg); err != nil {
		return d, fmt.Errorf("%w: %v", errRecord, err)
	}
	return d, nil
}
