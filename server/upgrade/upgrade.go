// Package upgrade brings what an older chat server kept in
// <data-dir>/chat.db (SQLite) into the broker, once, so that upgrading
// loses nothing: every room's kept history with its ids and seqs, the seq
// each room reached (history deleted or not), the message ids handed out,
// the epoch (so that clients' resume points and tokens stay good) and the
// sessions of members who may still resume. The file is then renamed
// chat.db.imported.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/history"
	"github.com/polychat/polychat/server/names"
)

// FileName is the older store's file in the data directory.
const FileName = "chat.db"

// ImportedSuffix is added to the file's name once it is imported.
const ImportedSuffix = ".imported"

// Source is an older store to import.
type Source struct {
	path  string
	store *history.SQLite
	log   *slog.Logger
}

// Find opens the chat.db in dataDir to import, keeping up to keep texts
// per room; nil when there is none (no data directory, no file, or one
// imported already).
func Find(dataDir string, keep int, log *slog.Logger) (*Source, error) {
	if dataDir == "" {
		return nil, nil
	}
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	// At least one text per room, so that every room's newest is read.
	store, err := history.OpenSQLite(path, max(keep, 1), 0, log)
	if err != nil {
		return nil, fmt.Errorf("upgrade: open %s: %w", path, err)
	}
	return &Source{path: path, store: store, log: log}, nil
}

// Epoch is the older store's epoch: the broker's room stream is created
// with it, so that what clients hold stays good.
func (s *Source) Epoch() string { return s.store.Epoch() }

// Close closes the older store without importing it.
func (s *Source) Close() error { return s.store.Close() }

// Into imports the store into b and renames the file, closing the store.
// b must have the store's epoch (its room stream was created with it);
// otherwise the broker holds another history, and nothing is imported.
// An import cut short is finished by the next one.
func (s *Source) Into(ctx context.Context, b *broker.Broker) error {
	if b.Epoch() != s.Epoch() {
		s.store.Close()
		return fmt.Errorf("upgrade: %s not imported: NATS already holds another history (epoch %s, not %s); it stays where it is",
			s.path, b.Epoch(), s.Epoch())
	}
	rooms, texts, err := s.importRooms(ctx, b)
	if err != nil {
		s.store.Close()
		return err
	}
	sessions, err := s.importSessions(ctx, b)
	if err != nil {
		s.store.Close()
		return err
	}
	next, err := s.store.ReserveIDs(0)
	if err == nil {
		err = b.RaiseCounter(ctx, broker.MessageIDs, next)
	}
	if err != nil {
		s.store.Close()
		return fmt.Errorf("upgrade: message ids: %w", err)
	}
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("upgrade: close %s: %w", s.path, err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(s.path+suffix, s.path+suffix+ImportedSuffix)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("upgrade: imported, but cannot rename %s: %w", s.path+suffix, err)
		}
	}
	s.log.Info("imported the history of an older version into NATS", "from", s.path, "renamed_to", s.path+ImportedSuffix,
		"rooms", rooms, "texts", texts, "sessions", sessions, "epoch", s.Epoch())
	return nil
}

// importRooms imports every room's seq and kept texts.
func (s *Source) importRooms(ctx context.Context, b *broker.Broker) (rooms, texts int, err error) {
	seqs, err := s.store.LastSeqs()
	if err != nil {
		return 0, 0, fmt.Errorf("upgrade: %w", err)
	}
	for room, last := range seqs {
		if err := s.store.Load(room); err != nil {
			return 0, 0, fmt.Errorf("upgrade: room %q: %w", room, err)
		}
		msgs := s.store.Recent(room)
		if err := b.ImportRoom(ctx, room, msgs, last); err != nil {
			return 0, 0, fmt.Errorf("upgrade: room %q: %w", room, err)
		}
		s.store.Unload(room)
		rooms++
		texts += len(msgs)
	}
	return rooms, texts, nil
}

// importSessions imports the sessions members may resume: each keeps its
// name, dropped when it dropped, or, if it was connected when the older
// server stopped, from when a chat node adopts it.
func (s *Source) importSessions(ctx context.Context, b *broker.Broker) (int, error) {
	sessions, err := s.store.Sessions()
	if err != nil {
		return 0, fmt.Errorf("upgrade: %w", err)
	}
	for _, sess := range sessions {
		m := &broker.Member{
			ID: membershipID(sess.ID), Session: sess.ID, Room: sess.Room, Name: sess.Name,
			Skeleton: names.Skeleton(sess.Name), Named: sess.Named, User: sess.User, DroppedAt: sess.DroppedAt,
		}
		if err := b.ImportMember(ctx, m); err != nil {
			return 0, fmt.Errorf("upgrade: session in room %q: %w", sess.Room, err)
		}
	}
	return len(sessions), nil
}

// membershipID names the membership of an imported session: from the
// session id (a hash), so that an import done twice names it the same.
func membershipID(session string) string {
	if len(session) > 16 {
		return session[:16]
	}
	return session
}
