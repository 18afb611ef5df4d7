package history

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"google.golang.org/protobuf/types/known/timestamppb"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver (no cgo)
)

// pendingSize bounds the messages waiting to be written. Append blocks when it
// is full, so a slow disk slows chat down instead of losing history.
const pendingSize = 4096

// maxBatch is the most messages written in one transaction.
const maxBatch = 512

const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id             INTEGER PRIMARY KEY,
	room           TEXT    NOT NULL,
	user           TEXT    NOT NULL,
	text           TEXT    NOT NULL,
	sent_at        INTEGER NOT NULL, -- Unix nanoseconds
	client_sent_at INTEGER           -- Unix nanoseconds, NULL when unset
);
CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room, id);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
`

// SQLite is a Store that persists history in a SQLite database (WAL mode).
//
// Reads are served from an in-memory copy loaded at open; writes go to the
// database in batches on a background goroutine, so a broadcast never waits
// for a disk sync. Close flushes everything still pending.
type SQLite struct {
	db    *sql.DB
	mem   *Memory
	limit int
	log   *slog.Logger

	mu      sync.RWMutex // guards closed against sends on pending
	closed  bool
	pending chan *chatpb.ChatMessage
	done    chan struct{}
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database at path, keeping the last
// limit messages per room. The parent directory is created if missing.
func OpenSQLite(path string, limit int, log *slog.Logger) (*SQLite, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("history: create data directory: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	// One connection serialises the writer and id reservations, so SQLite
	// never reports "database is locked" between our own goroutines.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	s := &SQLite{
		db:      db,
		mem:     NewMemory(limit),
		limit:   max(limit, 0),
		log:     log,
		pending: make(chan *chatpb.ChatMessage, pendingSize),
		done:    make(chan struct{}),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: load %s: %w", path, err)
	}
	go s.writer()
	return s, nil
}

// load fills the in-memory copy. The table holds at most limit rows per room
// (older ones are pruned on write), so reading it whole is cheap.
func (s *SQLite) load() error {
	rows, err := s.db.Query(`SELECT id, room, user, text, sent_at, client_sent_at FROM messages ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id           int64
			room, user   string
			text         string
			sentAt       int64
			clientSentAt sql.NullInt64
		)
		if err := rows.Scan(&id, &room, &user, &text, &sentAt, &clientSentAt); err != nil {
			return err
		}
		sent := time.Unix(0, sentAt)
		msg := &chatpb.ChatMessage{
			User:      user,
			Message:   text,
			Timestamp: sent.Unix(),
			Room:      room,
			Kind:      chatpb.ChatMessage_KIND_TEXT,
			Id:        uint64(id),
			SentAt:    timestamppb.New(sent),
		}
		if clientSentAt.Valid {
			msg.ClientSentAt = timestamppb.New(time.Unix(0, clientSentAt.Int64))
		}
		s.mem.add(msg)
	}
	return rows.Err()
}

// Append implements Store.
func (s *SQLite) Append(msg *chatpb.ChatMessage) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if s.limit == 0 {
		return nil
	}
	if err := s.mem.Append(msg); err != nil {
		return err
	}
	s.pending <- msg
	return nil
}

// Recent implements Store.
func (s *SQLite) Recent(room string) []*chatpb.ChatMessage {
	return s.mem.Recent(room)
}

// ReserveIDs implements Store. The high-water mark lives in the meta table,
// so ids given to notices (which are not stored) are not reused either.
func (s *SQLite) ReserveIDs(n uint64) (uint64, error) {
	tx, err := s.db.Begin()
	if err != nil {
		return 0, fmt.Errorf("history: reserve ids: %w", err)
	}
	defer tx.Rollback()
	var next int64
	err = tx.QueryRow(`SELECT MAX(
		COALESCE((SELECT value FROM meta WHERE key = 'next_id'), 1),
		COALESCE((SELECT MAX(id) FROM messages), 0) + 1)`).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("history: reserve ids: %w", err)
	}
	// Messages appended but not yet written count too.
	if pending := int64(s.mem.peekNextID()); pending > next {
		next = pending
	}
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('next_id', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, next+int64(n)); err != nil {
		return 0, fmt.Errorf("history: reserve ids: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("history: reserve ids: %w", err)
	}
	return uint64(next), nil
}

// writer persists pending messages in batches until pending is closed.
func (s *SQLite) writer() {
	defer close(s.done)
	batch := make([]*chatpb.ChatMessage, 0, maxBatch)
	for msg := range s.pending {
		batch = append(batch[:0], msg)
	drain:
		for len(batch) < maxBatch {
			select {
			case m, ok := <-s.pending:
				if !ok {
					break drain
				}
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if err := s.write(batch); err != nil {
			// The messages stay in memory and are still replayed; only
			// their survival across a restart is lost.
			s.log.Error("history: cannot write messages", "count", len(batch), "err", err)
		}
	}
}

// write stores batch in one transaction and prunes the rooms it touched.
func (s *SQLite) write(batch []*chatpb.ChatMessage) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT OR REPLACE INTO messages (id, room, user, text, sent_at, client_sent_at) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	rooms := make(map[string]struct{})
	for _, m := range batch {
		var clientSentAt sql.NullInt64
		if cs := m.GetClientSentAt(); cs != nil {
			clientSentAt = sql.NullInt64{Int64: cs.AsTime().UnixNano(), Valid: true}
		}
		if _, err := ins.Exec(int64(m.GetId()), m.GetRoom(), m.GetUser(), m.GetMessage(), m.GetSentAt().AsTime().UnixNano(), clientSentAt); err != nil {
			return err
		}
		rooms[m.GetRoom()] = struct{}{}
	}
	for room := range rooms {
		// Delete everything older than the limit-th newest message.
		if _, err := tx.Exec(`DELETE FROM messages WHERE room = ?1 AND id <
			(SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`, room, s.limit-1); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Close implements Store: it waits for pending writes and closes the database.
func (s *SQLite) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.pending)
	s.mu.Unlock()
	<-s.done
	return errors.Join(s.mem.Close(), s.db.Close())
}
