package main

import (
	"errors"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of chat.ChatMessage the load generator reads.
const (
	fieldKind         = 5
	fieldClientSentAt = 8
	kindText          = 1
	kindLeave         = 3
)

// delivery is what a receiver decodes a server message into: only its kind
// and client_sent_at, read straight from the wire without allocating, so that
// the load generator spends as little of the machine's two cores as possible.
type delivery struct {
	kind   int32
	sentAt int64 // client_sent_at in Unix nanoseconds; 0 when absent
}

// recvCodec is the proto codec, except that it decodes into *delivery by
// scanning the wire format.
type recvCodec struct {
	encoding.CodecV2
}

func newRecvCodec() recvCodec {
	return recvCodec{encoding.GetCodecV2(grpcproto.Name)}
}

// Unmarshal implements encoding.CodecV2.
func (c recvCodec) Unmarshal(data mem.BufferSlice, v any) error {
	d, ok := v.(*delivery)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	if len(data) == 1 {
		return d.parse(data[0].ReadOnlyData())
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return d.parse(buf.ReadOnlyData())
}

var errBadWire = errors.New("loadgen: malformed chat message")

// parse reads kind and client_sent_at from b, the encoding of a
// chat.ChatMessage. Later occurrences of a field win, as in protobuf.
func (d *delivery) parse(b []byte) error {
	*d = delivery{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadWire
		}
		b = b[n:]
		switch {
		case num == fieldKind && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errBadWire
			}
			d.kind = int32(v)
			b = b[n:]
		case num == fieldClientSentAt && typ == protowire.BytesType:
			ts, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadWire
			}
			sec, nanos, err := parseTimestamp(ts)
			if err != nil {
				return err
			}
			d.sentAt = sec*1e9 + nanos
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadWire
			}
			b = b[n:]
		}
	}
	return nil
}

// parseTimestamp decodes a google.protobuf.Timestamp (seconds = 1, nanos = 2).
func parseTimestamp(b []byte) (sec, nanos int64, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, errBadWire
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == 1 || num == 2) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, 0, errBadWire
			}
			if num == 1 {
				sec = int64(v)
			} else {
				nanos = int64(int32(v))
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, 0, errBadWire
		}
		b = b[n:]
	}
	return sec, nanos, nil
}
