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

// File is a file offered or shared in a room, as bucket polychat_files
// keeps it: every chat node of the store sees it, and it outlives
// restarts.
type File struct {
	// ID is the file's id, from the "files" counter.
	ID uint64 `json:"id"`
	// Epoch is the store's epoch when it was offered: the file's bytes are
	// StreamingService's chat file <epoch>-<id>.
	Epoch string `json:"epoch"`
	// Name is the file's plain name.
	Name string `json:"name"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of its bytes, once shared.
	SHA256 string `json:"sha256"`
	// User offered it, in Room.
	User string `json:"user"`
	Room string `json:"room"`
	// Address is, for a file offered by a member who was not signed in,
	// the member's client address (as limits.IP gives it): the file counts
	// against that address, not against the name anyone may take.
	Address string `json:"address,omitempty"`
	// OfferedAt is when it was offered: its bytes may be stored from then
	// on. Zero for a file shared before offers were kept.
	OfferedAt time.Time `json:"offered_at,omitzero"`
	// SharedAt is when it was shared; zero while it is only offered.
	SharedAt time.Time `json:"shared_at,omitzero"`

	// rev is the revision of the record it was read from (0: not read).
	rev uint64
}

// Shared reports whether f was shared, not only offered.
func (f *File) Shared() bool { return !f.SharedAt.IsZero() }

// Since is when f's retention counts from: its offer, when its bytes may
// first have been stored, or its share for a file from before offers
// were kept.
func (f *File) Since() time.Time {
	if !f.OfferedAt.IsZero() {
		return f.OfferedAt
	}
	return f.SharedAt
}

// Account returns what f counts against.
func (f *File) Account() Account {
	if f.Address != "" {
		return AddressAccount(f.Address)
	}
	return UserAccount(f.User)
}

// An Account is what files count against for the file quota: a user, or a
// client address.
type Account struct{ key string }

// Key returns the account's key: "u." and the encoded user name, or "a."
// and the encoded address. Upload grants carry it to StreamingService.
func (a Account) Key() string { return a.key }

// UserAccount is the account of the user name.
func UserAccount(name string) Account { return Account{"u." + token(name)} }

// AddressAccount is the account of the client address ip (as limits.IP
// gives it).
func AddressAccount(ip string) Account { return Account{"a." + token(ip)} }

// ErrFileExists is returned by ShareFile for a file id shared before.
var ErrFileExists = errors.New("broker: the file was shared before")

// ErrFileNotFound is returned by File for an id no file was offered with.
var ErrFileNotFound = errors.New("broker: no file has this id")

// ErrQuota is returned by OfferFile and ShareFile when the file would take
// its account over the quota.
var ErrQuota = errors.New("broker: over the account's file quota")

// filesCounter is the counter file ids come from.
const filesCounter = "files"

// fileKeys are the keys of the file records, for a scan.
const fileKeys = "f.*"

func fileKey(id uint64) string { return "f." + strconv.FormatUint(id, 10) }

// NewFileID reserves a new file id.
func (b *Broker) NewFileID(ctx context.Context) (uint64, error) {
	return b.Reserve(ctx, filesCounter, 1)
}

// FileUsage returns the bytes of the files offered and shared that count
// against acct.
func (b *Broker) FileUsage(ctx context.Context, acct Account) (int64, error) {
	used, _, err := b.usage(ctx, acct)
	return used, err
}

// usage returns acct's usage and the revision of its key (0: none yet).
func (b *Broker) usage(ctx context.Context, acct Account) (int64, uint64, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, acct.key) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("broker: file usage: %w", unavailable(err))
	}
	used, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("broker: file usage of %s: not a number: %q", acct.key, e.Value())
	}
	return used, e.Revision(), nil
}

// OfferFile keeps f, an offer not yet shared, and adds its size to its
// account's usage, unless that would pass quota (ErrQuota; 0: no quota).
// The bytes count from the offer on, since they may be stored from then
// whether or not the file is ever shared. The usage is counted first, so
// that two nodes offering at once cannot both pass the quota.
func (b *Broker) OfferFile(ctx context.Context, f *File, quota int64) error {
	return b.keepNew(ctx, f, quota, "offer file")
}

// ShareFile marks f, offered before with OfferFile, as shared, with its
// SHA256 and SharedAt; an offer's record keeps its account and OfferedAt.
// A file with no offer kept (offered before offers were kept, or expired
// meanwhile) is counted now, against quota. A file shared before is
// ErrFileExists.
func (b *Broker) ShareFile(ctx context.Context, f *File, quota int64) error {
	for {
		e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, fileKey(f.ID)) })
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return b.keepNew(ctx, f, quota, "share file")
		}
		if err != nil {
			return fmt.Errorf("broker: share file: %w", unavailable(err))
		}
		offer, err := decodeFile(e)
		if err != nil {
			return err
		}
		if offer.Shared() {
			return ErrFileExists
		}
		f.Address, f.OfferedAt = offer.Address, offer.OfferedAt
		data, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("broker: encode file: %w", err)
		}
		_, err = again(ctx, func() (uint64, error) { return b.files.Update(ctx, fileKey(f.ID), data, e.Revision()) })
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("broker: share file: %w", unavailable(err))
		}
		// Shared or expired meanwhile: look again.
	}
}

// keepNew adds f's size to its account's usage, within quota, and keeps
// f under a new key (ErrFileExists if its id has a record).
func (b *Broker) keepNew(ctx context.Context, f *File, quota int64, what string) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("broker: encode file: %w", err)
	}
	if _, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, fileKey(f.ID)) }); err == nil {
		return ErrFileExists
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("broker: %s: %w", what, unavailable(err))
	}
	acct := f.Account()
	if err := b.addUsage(ctx, acct, f.Size, quota); err != nil {
		return err
	}
	_, err = again(ctx, func() (uint64, error) { return b.files.Create(ctx, fileKey(f.ID), data) })
	if err == nil {
		return nil
	}
	// Not kept after all: give the bytes back.
	if undo := b.addUsage(ctx, acct, -f.Size, 0); undo != nil {
		b.log.Error("cannot give back the quota of a file not kept", "account", acct.key, "bytes", f.Size, "err", undo)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrFileExists
	}
	return fmt.Errorf("broker: %s: %w", what, unavailable(err))
}

// addUsage adds delta to acct's usage, unless the sum would pass quota.
// A usage back at zero is deleted: an address that shared once is not
// kept for ever.
func (b *Broker) addUsage(ctx context.Context, acct Account, delta, quota int64) error {
	for {
		used, rev, err := b.usage(ctx, acct)
		if err != nil {
			return err
		}
		next := max(used+delta, 0)
		if delta > 0 && quota > 0 && next > quota {
			return ErrQuota
		}
		value := []byte(strconv.FormatInt(next, 10))
		switch {
		case rev == 0 && next == 0:
			return nil
		case rev == 0:
			_, err = again(ctx, func() (uint64, error) { return b.files.Create(ctx, acct.key, value) })
		case next == 0:
			err = againErr(ctx, func() error { return b.files.Delete(ctx, acct.key, jetstream.LastRevision(rev)) })
		default:
			_, err = again(ctx, func() (uint64, error) { return b.files.Update(ctx, acct.key, value, rev) })
		}
		if err == nil {
			return nil
		}
		// A replicated bucket says a revision did not match with another
		// code than a single server: ErrKeyRevisionMismatch covers both.
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("broker: file usage: %w", unavailable(err))
		}
		// Another node counted a file meanwhile: count again.
	}
}

// File returns the file of id, offered or shared, or ErrFileNotFound.
func (b *Broker) File(ctx context.Context, id uint64) (*File, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.files.Get(ctx, fileKey(id)) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrFileNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("broker: file: %w", unavailable(err))
	}
	return decodeFile(e)
}

func decodeFile(e jetstream.KeyValueEntry) (*File, error) {
	var f File
	if err := json.Unmarshal(e.Value(), &f); err != nil {
		return nil, fmt.Errorf("broker: file record %s: %w", e.Key(), err)
	}
	f.rev = e.Revision()
	return &f, nil
}

// Files returns the files, offered or shared, for which keep reports
// true. It reads every file record.
func (b *Broker) Files(ctx context.Context, keep func(*File) bool) ([]*File, error) {
	return scanBucket(ctx, b, b.files, fileKeys, "files", decodeFile, keep)
}

// PurgeDeletedFiles drops the markers that DeleteFile and usages back at
// zero leave in the bucket, once they are olderThan old (0: all): without
// it each deleted file would leave one for ever.
func (b *Broker) PurgeDeletedFiles(ctx context.Context, olderThan time.Duration) error {
	if olderThan <= 0 {
		olderThan = -1 // jetstream's "whatever their age"
	}
	if err := b.files.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(olderThan)); err != nil {
		return fmt.Errorf("broker: purge deleted files: %w", unavailable(err))
	}
	return nil
}

// DeleteFile deletes the record of f, as File or Files read it, and gives
// its bytes back to its account. It reports false, having done nothing,
// when the record changed since it was read: another node deleted it, or
// it was shared meanwhile.
//
// Should the process stop between the two steps, the bytes stay counted:
// the account may share less than it should, never more.
func (b *Broker) DeleteFile(ctx context.Context, f *File) (bool, error) {
	if f.rev == 0 {
		return false, fmt.Errorf("broker: delete file %d: it was not read from the store", f.ID)
	}
	err := againErr(ctx, func() error { return b.files.Delete(ctx, fileKey(f.ID), jetstream.LastRevision(f.rev)) })
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("broker: delete file %d: %w", f.ID, unavailable(err))
	}
	if err := b.addUsage(ctx, f.Account(), -f.Size, 0); err != nil {
		return true, fmt.Errorf("broker: give back the quota of file %d: %w", f.ID, err)
	}
	return true, nil
}
