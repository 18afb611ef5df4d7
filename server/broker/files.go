package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// File is a file shared in a room, as bucket polychat_files keeps it: every
// chat node of the store sees it, and it outlives restarts.
type File struct {
	// ID is the file's id, from the "files" counter.
	ID uint64 `json:"id"`
	// Epoch is the store's epoch when it was shared: the file's bytes are
	// StreamingService's chat file <epoch>-<id>.
	Epoch string `json:"epoch"`
	// Name is the file's plain name.
	Name string `json:"name"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of its bytes.
	SHA256 string `json:"sha256"`
	// User shared it, in Room.
	User string `json:"user"`
	Room string `json:"room"`
	// SharedAt is when.
	SharedAt time.Time `json:"shared_at"`
}

// ErrFileExists is returned by ShareFile for a file id shared before.
var ErrFileExists = errors.New("broker: the file was shared before")

// ErrFileNotFound is returned by File for an id no file was shared with.
var ErrFileNotFound = errors.New("broker: no file has this id")

// ErrQuota is returned by ShareFile when the file would take its user over
// the quota.
var ErrQuota = errors.New("broker: over the user's file quota")

// filesCounter is the counter file ids come from.
const filesCounter = "files"

func fileKey(id uint64) string { return "f." + strconv.FormatUint(id, 10) }

func usageKey(user string) string { return "u." + token(user) }

// NewFileID reserves a new file id.
func (b *Broker) NewFileID(ctx context.Context) (uint64, error) {
	return b.Reserve(ctx, filesCounter, 1)
}

// FileUsage returns the bytes of the files user has shared.
func (b *Broker) FileUsage(ctx context.Context, user string) (int64, error) {
	used, _, err := b.usage(ctx, user)
	return used, err
}

// usage returns user's usage and the revision of its key (0: none yet).
func (b *Broker) usage(ctx context.Context, user string) (int64, uint64, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, usageKey(user)) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("broker: file usage: %w", unavailable(err))
	}
	used, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("broker: file usage of %q: not a number: %q", user, e.Value())
	}
	return used, e.Revision(), nil
}

// ShareFile keeps f and adds its size to its user's usage, unless that
// would pass quota (ErrQuota; 0: no quota) or f's id was shared before
// (ErrFileExists). The usage is counted first, so that two nodes sharing
// at once cannot both pass the quota.
func (b *Broker) ShareFile(ctx context.Context, f *File, quota int64) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("broker: encode file: %w", err)
	}
	if _, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, fileKey(f.ID)) }); err == nil {
		return ErrFileExists
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("broker: share file: %w", unavailable(err))
	}
	if err := b.addUsage(ctx, f.User, f.Size, quota); err != nil {
		return err
	}
	_, err = again(ctx, func() (uint64, error) { return b.files.Create(ctx, fileKey(f.ID), data) })
	if err == nil {
		return nil
	}
	// Not shared after all: give the bytes back.
	if undo := b.addUsage(ctx, f.User, -f.Size, 0); undo != nil {
		b.log.Error("cannot give back the quota of a file not shared", "user", f.User, "bytes", f.Size, "err", undo)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrFileExists
	}
	return fmt.Errorf("broker: share file: %w", unavailable(err))
}

// addUsage adds delta to user's usage, unless the sum would pass quota.
func (b *Broker) addUsage(ctx context.Context, user string, delta, quota int64) error {
	for {
		used, rev, err := b.usage(ctx, user)
		if err != nil {
			return err
		}
		next := max(used+delta, 0)
		if delta > 0 && quota > 0 && next > quota {
			return ErrQuota
		}
		value := []byte(strconv.FormatInt(next, 10))
		if rev == 0 {
			_, err = again(ctx, func() (uint64, error) { return b.files.Create(ctx, usageKey(user), value) })
		} else {
			_, err = again(ctx, func() (uint64, error) { return b.files.Update(ctx, usageKey(user), value, rev) })
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("broker: file usage: %w", unavailable(err))
		}
		// Another node counted a file meanwhile: count again.
	}
}

// File returns the file of id, or ErrFileNotFound.
func (b *Broker) File(ctx context.Context, id uint64) (*File, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, fileKey(id)) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrFileNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("broker: file: %w", unavailable(err))
	}
	var f File
	if err := json.Unmarshal(e.Value(), &f); err != nil {
		return nil, fmt.Errorf("broker: file %d: %w", id, err)
	}
	return &f, nil
}
