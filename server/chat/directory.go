package chat

import (
	"context"
	"sync"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
)

// directory is who is connected to which room, on every node: what the
// broker's members bucket says, kept up to date by a watch, so that
// ListMembers and ListRooms read memory, not the bucket. It costs every
// node a name per member of the cluster.
type directory struct {
	mu sync.Mutex
	// rooms holds the connected members' names by room and skeleton.
	rooms map[string]map[string]string
	// applied is the revision of the bucket the directory is up to;
	// moved is closed (and replaced) whenever it moves.
	applied uint64
	moved   chan struct{}
}

func newDirectory() *directory {
	return &directory{rooms: make(map[string]map[string]string), moved: make(chan struct{})}
}

// apply records c.
func (d *directory) apply(c broker.MemberChange) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.Room != "" {
		names := d.rooms[c.Room]
		if c.Member != nil && c.Member.Connected() {
			if names == nil {
				names = make(map[string]string)
				d.rooms[c.Room] = names
			}
			names[c.Skeleton] = c.Member.Name
		} else if names != nil {
			delete(names, c.Skeleton)
			if len(names) == 0 {
				delete(d.rooms, c.Room)
			}
		}
	}
	if c.Revision > d.applied {
		d.applied = c.Revision
		close(d.moved)
		d.moved = make(chan struct{})
	}
}

// upTo waits until the directory has every change up to rev.
func (d *directory) upTo(ctx context.Context, rev uint64) error {
	for {
		d.mu.Lock()
		applied, moved := d.applied, d.moved
		d.mu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// names returns the names of room's connected members.
func (d *directory) names(room string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	names := d.rooms[room]
	out := make([]string, 0, len(names))
	for _, name := range names {
		out = append(out, name)
	}
	return out
}

// counts returns the rooms with connected members and how many each has.
func (d *directory) counts() []*chatpb.Room {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*chatpb.Room, 0, len(d.rooms))
	for name, names := range d.rooms {
		out = append(out, &chatpb.Room{Name: name, MemberCount: int32(len(names))})
	}
	return out
}

// size returns how many members room has connected, on every node.
func (d *directory) size(room string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.rooms[room])
}
