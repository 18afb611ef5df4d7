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
	client_sent_at INTEGER,          -- Unix nanoseconds, NULL when unset
	seq            INTEGER NOT NULL DEFAULT 0,
	client_msg_id  TEXT,             -- NULL when unset
	kind           INTEGER NOT NULL DEFAULT 1 -- chat.ChatMessage.Kind: text or action
);
CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room, id);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
	room     TEXT PRIMARY KEY,
	last_seq INTEGER NOT NULL -- kept when the history is deleted: seqs are never reused
);
CREATE TABLE IF NOT EXISTS sessions (
	id         TEXT PRIMARY KEY, -- hash of the resume token
	room       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	named      INTEGER NOT NULL,
	user       TEXT    NOT NULL,
	dropped_at INTEGER           -- Unix nanoseconds, NULL while connected
);
`

// schemaVersion is the PRAGMA user_version of the current schema. Version 0
// is the first one, whose messages had no seq or client_msg_id; version 1
// kept only text messages, so had no kind.
const schemaVersion = 2

// SQLite is a Store that persists history in a SQLite database (WAL mode).
//
// Reads are served from memory: a room's history is read from the database
// when the room is loaded and dropped from memory once it is unloaded and
// everything appended to it is written, so an idle room costs no memory.
// Writes go to the database in batches on a background goroutine, so a
// broadcast never waits for a disk sync. Close flushes everything still
// pending.
type SQLite struct {
	db       *sql.DB
	epoch    string
	mem      *Memory
	limit    int
	maxBytes int
	log      *slog.Logger

	mu      sync.RWMutex // guards closed against sends on pending
	closed  bool
	pending chan op
	done    chan struct{}

	// roomsMu guards the maps below, which say which rooms are in mem: a
	// room is while it is loaded or has messages not yet written.
	roomsMu   sync.Mutex
	loaded    map[string]int // Loads not yet Unloaded
	unwritten map[string]int // messages appended, not yet written
	deleting  map[string]int // Deletes not yet done
}

// op is one write for the writer: a message to insert, a room to delete, a
// session to save or delete, a function to call once everything before it
// is committed, or (in tests) a channel to close then.
type op struct {
	msg           *chatpb.ChatMessage
	delete        string
	session       *Session
	deleteSession string
	after         func()
	flushed       chan struct{}
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database at path, keeping the last
// limit messages per room, and of those only as many as fit in maxBytes (no
// byte limit when maxBytes is 0 or less). The parent directory is created if
// missing. No history is read until a room is loaded.
func OpenSQLite(path string, limit, maxBytes int, log *slog.Logger) (*SQLite, error) {
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
	epoch, err := prepare(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	s := &SQLite{
		db:        db,
		epoch:     epoch,
		mem:       NewMemory(limit, maxBytes),
		limit:     max(limit, 0),
		maxBytes:  maxBytes,
		log:       log,
		pending:   make(chan op, pendingSize),
		done:      make(chan struct{}),
		loaded:    make(map[string]int),
		unwritten: make(map[string]int),
		deleting:  make(map[string]int),
	}
	go s.writer()
	return s, nil
}

// prepare creates or migrates the schema and returns the database's epoch,
// creating one for a new (or pre-epoch) database.
func prepare(db *sql.DB) (string, error) {
	tx, err := db.Begin()
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return "", err
	}
	if version > schemaVersion {
		return "", fmt.Errorf("the database is from a newer server (schema version %d; this server knows %d)", version, schemaVersion)
	}
	var hasSeq bool
	if err := tx.QueryRow(`SELECT COUNT(*) > 0 FROM pragma_table_info('messages') WHERE name = 'seq'`).Scan(&hasSeq); err != nil {
		return "", err
	}
	var hasMessages bool
	if err := tx.QueryRow(`SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'messages'`).Scan(&hasMessages); err != nil {
		return "", err
	}
	if hasMessages && !hasSeq {
		// A database of the first schema: number the kept messages of each
		// room 1, 2, 3 ... in id order.
		for _, stmt := range []string{
			`ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0`,
			`ALTER TABLE messages ADD COLUMN client_msg_id TEXT`,
			`UPDATE messages SET seq = (SELECT COUNT(*) FROM messages AS m WHERE m.room = messages.room AND m.id <= messages.id)`,
		} {
			if _, err := tx.Exec(stmt); err != nil {
				return "", fmt.Errorf("migrate messages: %w", err)
			}
		}
	}
	var hasKind bool
	if err := tx.QueryRow(`SELECT COUNT(*) > 0 FROM pragma_table_info('messages') WHERE name = 'kind'`).Scan(&hasKind); err != nil {
		return "", err
	}
	if hasMessages && !hasKind {
		// Everything kept before actions existed is text (the default).
		if _, err := tx.Exec(`ALTER TABLE messages ADD COLUMN kind INTEGER NOT NULL DEFAULT 1`); err != nil {
			return "", fmt.Errorf("migrate messages: %w", err)
		}
	}
	if _, err := tx.Exec(schema); err != nil {
		return "", err
	}
	if _, err := tx.Exec(`INSERT INTO rooms (room, last_seq) SELECT room, MAX(seq) FROM messages GROUP BY room
		ON CONFLICT (room) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`); err != nil {
		return "", err
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return "", err
	}
	var epoch int64
	err = tx.QueryRow(`SELECT value FROM meta WHERE key = 'epoch'`).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		e := newEpoch()
		var u uint64
		fmt.Sscanf(e, "%x", &u)
		epoch = int64(u)
		_, err = tx.Exec(`INSERT INTO meta (key, value) VALUES ('epoch', ?)`, epoch)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%016x", uint64(epoch)), tx.Commit()
}

// Epoch implements Store: kept in the database, so it survives restarts.
func (s *SQLite) Epoch() string { return s.epoch }

// LastSeq implements Store.
func (s *SQLite) LastSeq(room string) uint64 { return s.mem.LastSeq(room) }

// AfterCommit implements Store.
func (s *SQLite) AfterCommit(fn func()) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.pending <- op{after: fn}
	return true
}

// SaveSession implements Store; the writer saves it after what was
// appended before.
func (s *SQLite) SaveSession(sess Session) error {
	return s.send(op{session: &sess})
}

// DeleteSession implements Store.
func (s *SQLite) DeleteSession(id string) error {
	return s.send(op{deleteSession: id})
}

// send hands o to the writer.
func (s *SQLite) send(o op) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.pending <- o
	return nil
}

// Sessions implements Store.
func (s *SQLite) Sessions() ([]Session, error) {
	rows, err := s.db.Query(`SELECT id, room, name, named, user, dropped_at FROM sessions`)
	if err != nil {
		return nil, fmt.Errorf("history: read sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var (
			sess    Session
			dropped sql.NullInt64
		)
		if err := rows.Scan(&sess.ID, &sess.Room, &sess.Name, &sess.Named, &sess.User, &dropped); err != nil {
			return nil, fmt.Errorf("history: read sessions: %w", err)
		}
		if dropped.Valid {
			sess.DroppedAt = time.Unix(0, dropped.Int64)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: read sessions: %w", err)
	}
	return out, nil
}

// Load implements Store. Reading a room not in memory takes one indexed
// query of at most limit rows.
func (s *SQLite) Load(room string) error {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	inMem := s.loaded[room] > 0 || s.unwritten[room] > 0
	s.loaded[room]++
	if inMem {
		return nil
	}
	var last int64
	err := s.db.QueryRow(`SELECT last_seq FROM rooms WHERE room = ?`, room).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("history: load room: %w", err)
	}
	s.mem.setLastSeq(room, uint64(last))
	// A room being deleted has no history, whatever the database still
	// holds until the writer gets to the deletion.
	if s.limit == 0 || s.deleting[room] > 0 {
		return nil
	}
	msgs, err := s.read(room)
	if err != nil {
		return fmt.Errorf("history: load room: %w", err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		s.mem.add(msgs[i])
	}
	return nil
}

// read returns room's newest messages from the database, newest first.
func (s *SQLite) read(room string) ([]*chatpb.ChatMessage, error) {
	rows, err := s.db.Query(`SELECT id, user, text, sent_at, client_sent_at, seq, client_msg_id, kind FROM messages
		WHERE room = ? ORDER BY id DESC LIMIT ?`, room, s.limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []*chatpb.ChatMessage
	for rows.Next() {
		var (
			id           int64
			user, text   string
			sentAt       int64
			clientSentAt sql.NullInt64
			seq          int64
			clientMsgID  sql.NullString
			kind         int32
		)
		if err := rows.Scan(&id, &user, &text, &sentAt, &clientSentAt, &seq, &clientMsgID, &kind); err != nil {
			return nil, err
		}
		sent := time.Unix(0, sentAt)
		msg := &chatpb.ChatMessage{
			User:      user,
			Message:   text,
			Timestamp: sent.Unix(),
			Room:      room,
			Kind:      chatpb.ChatMessage_Kind(kind),
			Id:        uint64(id),
			SentAt:    timestamppb.New(sent),
			Epoch:     s.epoch,
			Seq:       uint64(seq),
		}
		if clientMsgID.Valid {
			msg.ClientMsgId = clientMsgID.String
		}
		if clientSentAt.Valid {
			msg.ClientSentAt = timestamppb.New(time.Unix(0, clientSentAt.Int64))
		}
		msgs = append(msgs, msg)
	}
	return msgs, rows.Err()
}

// Unload implements Store.
func (s *SQLite) Unload(room string) {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	if s.loaded[room]--; s.loaded[room] <= 0 {
		delete(s.loaded, room)
		s.evictLocked(room)
	}
}

// evictLocked drops room from memory unless it is loaded or has messages
// not yet written. s.roomsMu must be held.
func (s *SQLite) evictLocked(room string) {
	if s.loaded[room] == 0 && s.unwritten[room] == 0 {
		s.mem.drop(room)
	}
}

// Append implements Store.
func (s *SQLite) Append(msg *chatpb.ChatMessage) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.roomsMu.Lock()
	err := s.mem.Append(msg)
	if err == nil {
		s.unwritten[msg.GetRoom()]++
	}
	s.roomsMu.Unlock()
	if err != nil {
		return err
	}
	// Outside roomsMu: the send may wait for the writer, which takes it.
	s.pending <- op{msg: msg}
	return nil
}

// Recent implements Store.
func (s *SQLite) Recent(room string) []*chatpb.ChatMessage {
	return s.mem.Recent(room)
}

// Rooms implements Store.
func (s *SQLite) Rooms() (map[string]time.Time, error) {
	rows, err := s.db.Query(`SELECT room, MAX(sent_at) FROM messages GROUP BY room`)
	if err != nil {
		return nil, fmt.Errorf("history: list rooms: %w", err)
	}
	defer rows.Close()
	out := make(map[string]time.Time)
	for rows.Next() {
		var (
			room   string
			sentAt int64
		)
		if err := rows.Scan(&room, &sentAt); err != nil {
			return nil, fmt.Errorf("history: list rooms: %w", err)
		}
		out[room] = time.Unix(0, sentAt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: list rooms: %w", err)
	}
	return out, nil
}

// LastSeqs returns the last seq of every room that ever had a text, its
// history deleted or not.
func (s *SQLite) LastSeqs() (map[string]uint64, error) {
	rows, err := s.db.Query(`SELECT room, last_seq FROM rooms`)
	if err != nil {
		return nil, fmt.Errorf("history: list seqs: %w", err)
	}
	defer rows.Close()
	out := make(map[string]uint64)
	for rows.Next() {
		var (
			room string
			last int64
		)
		if err := rows.Scan(&room, &last); err != nil {
			return nil, fmt.Errorf("history: list seqs: %w", err)
		}
		out[room] = uint64(last)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: list seqs: %w", err)
	}
	return out, nil
}

// Delete implements Store. The rows are deleted by the writer, after any
// message appended before.
func (s *SQLite) Delete(room string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.roomsMu.Lock()
	s.deleting[room]++
	s.mem.drop(room)
	s.roomsMu.Unlock()
	s.pending <- op{delete: room}
	return nil
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

// writer persists pending operations in batches until pending is closed.
func (s *SQLite) writer() {
	defer close(s.done)
	batch := make([]op, 0, maxBatch)
	for o := range s.pending {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.pending:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		if err := s.write(batch); err != nil {
			// The messages are still replayed while their room is in
			// memory; only their survival across a restart is lost.
			s.log.Error("history: cannot write messages", "count", len(batch), "err", err)
		}
		s.written(batch)
	}
}

// written updates the bookkeeping once batch has been written (or failed),
// dropping from memory the rooms nobody has loaded.
func (s *SQLite) written(batch []op) {
	s.roomsMu.Lock()
	var after []func()
	defer func() {
		s.roomsMu.Unlock()
		if len(after) == 0 {
			return
		}
		// On a goroutine of their own: the callers' functions take their
		// locks, which an Append waiting for room in pending may hold, and
		// the writer must go on draining pending meanwhile.
		go func() {
			for _, fn := range after {
				fn()
			}
		}()
	}()
	for _, o := range batch {
		switch {
		case o.flushed != nil:
			close(o.flushed)
			continue
		case o.after != nil:
			after = append(after, o.after)
			continue
		case o.session != nil, o.deleteSession != "":
			continue
		}
		if o.msg == nil {
			if s.deleting[o.delete]--; s.deleting[o.delete] <= 0 {
				delete(s.deleting, o.delete)
			}
			continue
		}
		room := o.msg.GetRoom()
		if s.unwritten[room]--; s.unwritten[room] <= 0 {
			delete(s.unwritten, room)
			s.evictLocked(room)
		}
	}
}

// textKind is how a message kept in history is stored: as itself, an
// action or text (unspecified is text).
func textKind(k chatpb.ChatMessage_Kind) chatpb.ChatMessage_Kind {
	if k == chatpb.ChatMessage_KIND_ACTION {
		return k
	}
	return chatpb.ChatMessage_KIND_TEXT
}

// write stores batch in one transaction and prunes the rooms it touched to
// the newest limit messages and maxBytes.
func (s *SQLite) write(batch []op) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT OR REPLACE INTO messages (id, room, user, text, sent_at, client_sent_at, seq, client_msg_id, kind)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	rooms := make(map[string]struct{})
	seqs := make(map[string]uint64)
	for _, o := range batch {
		switch {
		case o.flushed != nil, o.after != nil:
			continue
		case o.session != nil:
			if err := saveSession(tx, o.session); err != nil {
				return err
			}
			continue
		case o.deleteSession != "":
			if _, err := tx.Exec(`DELETE FROM sessions WHERE id = ?`, o.deleteSession); err != nil {
				return err
			}
			continue
		case o.msg == nil:
			if _, err := tx.Exec(`DELETE FROM messages WHERE room = ?`, o.delete); err != nil {
				return err
			}
			delete(rooms, o.delete)
			continue
		}
		m := o.msg
		seqs[m.GetRoom()] = max(seqs[m.GetRoom()], m.GetSeq())
		if s.limit == 0 {
			continue
		}
		var clientSentAt sql.NullInt64
		if cs := m.GetClientSentAt(); cs != nil {
			clientSentAt = sql.NullInt64{Int64: cs.AsTime().UnixNano(), Valid: true}
		}
		var clientMsgID sql.NullString
		if id := m.GetClientMsgId(); id != "" {
			clientMsgID = sql.NullString{String: id, Valid: true}
		}
		if _, err := ins.Exec(int64(m.GetId()), m.GetRoom(), m.GetUser(), m.GetMessage(), m.GetSentAt().AsTime().UnixNano(),
			clientSentAt, int64(m.GetSeq()), clientMsgID, int32(textKind(m.GetKind()))); err != nil {
			return err
		}
		rooms[m.GetRoom()] = struct{}{}
	}
	for room, seq := range seqs {
		if _, err := tx.Exec(`INSERT INTO rooms (room, last_seq) VALUES (?, ?)
			ON CONFLICT (room) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`, room, int64(seq)); err != nil {
			return err
		}
	}
	for room := range rooms {
		// Delete everything older than the limit-th newest message.
		if _, err := tx.Exec(`DELETE FROM messages WHERE room = ?1 AND id <
			(SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`, room, s.limit-1); err != nil {
			return err
		}
		if s.maxBytes > 0 {
			// And the oldest messages past maxBytes, counted as Memory does.
			if _, err := tx.Exec(`DELETE FROM messages WHERE room = ?1 AND id IN (
				SELECT id FROM (SELECT id, SUM(length(CAST(user AS BLOB)) + length(CAST(text AS BLOB)))
					OVER (ORDER BY id DESC) AS total FROM messages WHERE room = ?1)
				WHERE total > ?2)`, room, s.maxBytes); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// saveSession inserts or replaces sess.
func saveSession(tx *sql.Tx, sess *Session) error {
	var dropped sql.NullInt64
	if !sess.DroppedAt.IsZero() {
		dropped = sql.NullInt64{Int64: sess.DroppedAt.UnixNano(), Valid: true}
	}
	_, err := tx.Exec(`INSERT OR REPLACE INTO sessions (id, room, name, named, user, dropped_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.Room, sess.Name, sess.Named, sess.User, dropped)
	return err
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
