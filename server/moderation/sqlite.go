package moderation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver (no cgo)
)

// The tables live in chat.db beside the history's, under their own names,
// so that the history's schema version does not cover them.
const schema = `
CREATE TABLE IF NOT EXISTS moderation_actions (
	id     INTEGER PRIMARY KEY,
	kind   TEXT    NOT NULL,
	room   TEXT    NOT NULL,
	actor  TEXT    NOT NULL,
	target TEXT    NOT NULL,
	reason TEXT    NOT NULL,
	at     INTEGER NOT NULL, -- Unix nanoseconds
	until  INTEGER           -- Unix nanoseconds, NULL for no end
);
CREATE TABLE IF NOT EXISTS moderation_restrictions (
	kind      TEXT    NOT NULL, -- mute or ban
	room      TEXT    NOT NULL,
	user      TEXT    NOT NULL,
	action_id INTEGER NOT NULL REFERENCES moderation_actions (id),
	PRIMARY KEY (kind, room, user)
);
CREATE TABLE IF NOT EXISTS moderation_owners (
	room TEXT NOT NULL,
	user TEXT NOT NULL,
	PRIMARY KEY (room, user)
);
CREATE TABLE IF NOT EXISTS moderation_topics (
	room  TEXT PRIMARY KEY,
	topic TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS moderation_outbox (
	action_id INTEGER PRIMARY KEY REFERENCES moderation_actions (id)
);
`

// SQLite is a Store and Outbox kept in a SQLite database, normally the
// server's chat.db, so that bans and the audit events not yet delivered
// survive restarts.
type SQLite struct {
	db *sql.DB
}

var (
	_ Store  = (*SQLite)(nil)
	_ Outbox = (*SQLite)(nil)
)

// OpenSQLite opens (creating if needed) the moderation tables of the
// database at path.
func OpenSQLite(path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("moderation: create data directory: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("moderation: open %s: %w", path, err)
	}
	// One connection: our writes never wait on each other inside SQLite.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("moderation: open %s: %w", path, err)
	}
	return &SQLite{db: db}, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Apply implements Store: the action, its effect and its audit event are
// one transaction.
func (s *SQLite) Apply(ctx context.Context, a Action) (Action, bool, error) {
	if err := check(a); err != nil {
		return a, false, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return a, false, fmt.Errorf("moderation: apply %s: %w", a.Kind, err)
	}
	defer tx.Rollback()
	changed, err := s.apply(ctx, tx, &a)
	if err == nil && changed {
		err = tx.Commit()
	}
	if err != nil {
		return a, false, fmt.Errorf("moderation: apply %s: %w", a.Kind, err)
	}
	return a, changed, nil
}

// apply does a's work in tx, setting a.ID when it changes anything.
func (s *SQLite) apply(ctx context.Context, tx *sql.Tx, a *Action) (bool, error) {
	switch a.Kind {
	case Unmute, Unban:
		r, ok, err := restriction(ctx, tx, lifted(a.Kind), a.Room, a.Target, a.At)
		if err != nil || !ok {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM moderation_restrictions WHERE kind = ? AND room = ? AND user = ?`,
			r.Kind, r.Room, r.User); err != nil {
			return false, err
		}
	case Op:
		res, err := tx.ExecContext(ctx, `INSERT INTO moderation_owners (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			a.Room, a.Target)
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return false, err
		}
	case Topic:
		if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_topics (room, topic) VALUES (?, ?)
			ON CONFLICT (room) DO UPDATE SET topic = excluded.topic`, a.Room, a.Reason); err != nil {
			return false, err
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO moderation_actions (kind, room, actor, target, reason, at, until)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.Kind, a.Room, a.Actor, a.Target, a.Reason, a.At.UnixNano(), nanos(a.Until))
	if err != nil {
		return false, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	a.ID = uint64(id)
	if a.Kind == Mute || a.Kind == Ban {
		if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_restrictions (kind, room, user, action_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, room, user) DO UPDATE SET action_id = excluded.action_id`,
			a.Kind, a.Room, a.Target, id); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_outbox (action_id) VALUES (?)`, id); err != nil {
		return false, err
	}
	return true, nil
}

// querier is what a *sql.DB and a *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const restrictionColumns = `r.kind, r.room, r.user, a.actor, a.reason, a.at, a.until
	FROM moderation_restrictions AS r JOIN moderation_actions AS a ON a.id = r.action_id`

// restriction reads the restriction of kind k on user in room, if in force.
func restriction(ctx context.Context, q querier, k Kind, room, user string, now time.Time) (Restriction, bool, error) {
	rs, err := restrictions(ctx, q, `SELECT `+restrictionColumns+` WHERE r.kind = ? AND r.room = ? AND r.user = ?`, now,
		k, room, user)
	if err != nil || len(rs) == 0 {
		return Restriction{}, false, err
	}
	return rs[0], true, nil
}

// restrictions runs query and returns the rows in force at now.
func restrictions(ctx context.Context, q querier, query string, now time.Time, args ...any) ([]Restriction, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Restriction
	for rows.Next() {
		var r Restriction
		var since int64
		var until sql.NullInt64
		if err := rows.Scan(&r.Kind, &r.Room, &r.User, &r.By, &r.Reason, &since, &until); err != nil {
			return nil, err
		}
		r.Since = time.Unix(0, since)
		if until.Valid {
			r.Until = time.Unix(0, until.Int64)
		}
		if r.InForce(now) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// Restriction implements Store.
func (s *SQLite) Restriction(ctx context.Context, k Kind, room, user string, now time.Time) (Restriction, bool, error) {
	r, ok, err := restriction(ctx, s.db, k, room, user, now)
	if err != nil {
		return r, false, fmt.Errorf("moderation: read %s of %q in %q: %w", k, user, room, err)
	}
	return r, ok, nil
}

// Bans implements Store.
func (s *SQLite) Bans(ctx context.Context, room string, now time.Time) ([]Restriction, error) {
	bans, err := restrictions(ctx, s.db, `SELECT `+restrictionColumns+` WHERE r.kind = ? AND r.room = ? ORDER BY r.user`,
		now, Ban, room)
	if err != nil {
		return nil, fmt.Errorf("moderation: read the bans of %q: %w", room, err)
	}
	return bans, nil
}

// Owners implements Store.
func (s *SQLite) Owners(ctx context.Context, room string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user FROM moderation_owners WHERE room = ? ORDER BY user`, room)
	if err != nil {
		return nil, fmt.Errorf("moderation: read the owners of %q: %w", room, err)
	}
	defer rows.Close()
	var owners []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("moderation: read the owners of %q: %w", room, err)
		}
		owners = append(owners, u)
	}
	return owners, rows.Err()
}

// Claim implements Store.
func (s *SQLite) Claim(ctx context.Context, room, user string, _ time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO moderation_owners (room, user)
		SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM moderation_owners WHERE room = ?)`, room, user, room)
	if err != nil {
		return false, fmt.Errorf("moderation: claim %q: %w", room, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("moderation: claim %q: %w", room, err)
	}
	return n == 1, nil
}

// Topic implements Store.
func (s *SQLite) Topic(ctx context.Context, room string) (string, error) {
	var topic string
	err := s.db.QueryRowContext(ctx, `SELECT topic FROM moderation_topics WHERE room = ?`, room).Scan(&topic)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("moderation: read the topic of %q: %w", room, err)
	}
	return topic, nil
}

// Pending implements Outbox.
func (s *SQLite) Pending(ctx context.Context, limit int) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, a.kind, a.room, a.actor, a.target, a.reason, a.at, a.until
		FROM moderation_outbox AS o JOIN moderation_actions AS a ON a.id = o.action_id
		ORDER BY a.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("moderation: read the audit outbox: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var at int64
		var until sql.NullInt64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Room, &a.Actor, &a.Target, &a.Reason, &at, &until); err != nil {
			return nil, fmt.Errorf("moderation: read the audit outbox: %w", err)
		}
		a.At = time.Unix(0, at)
		if until.Valid {
			a.Until = time.Unix(0, until.Int64)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Delivered implements Outbox.
func (s *SQLite) Delivered(ctx context.Context, id uint64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM moderation_outbox WHERE action_id = ?`, id); err != nil {
		return fmt.Errorf("moderation: forget delivered audit event %d: %w", id, err)
	}
	return nil
}

// nanos is t in Unix nanoseconds, or NULL for the zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}
