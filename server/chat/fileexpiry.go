package chat

import (
	"time"

	"github.com/polychat/polychat/server/broker"
)

// Shared files do not stay forever: a file is deleted FileRetention after
// it was offered, and with its room's history, so that a room made later
// under the same name does not inherit the files of the one before. Only
// the broker's record goes here, which gives the bytes back to the quota
// they counted against and makes GetFile answer NOT_FOUND; StreamingService
// deletes the bytes on its own clock (--streaming-file-retention).

// UnsharedOfferKept is how long an offer that was never shared is kept.
// Its upload grant lasts a minute and its receipt a minute after the
// upload, so an offer still unshared hours later never will be (the
// upload failed, or the client went away): it counts against its quota no
// more here. Bytes of it that were stored all the same still count at
// StreamingService, which holds what it keeps for an account to the quota
// the upload grant names until the bytes expire. Six hours leave room for a
// 100 MiB upload on a slow line.
const UnsharedOfferKept = 6 * time.Hour

// FileSweepPeriod is the longest files may wait past their time before
// ExpireFiles deletes them: the retention period, or UnsharedOfferKept if
// that is shorter (or files are kept with their rooms' history); 0 when
// this server shares no files (no file key), so there is nothing to sweep.
func (s *Service) FileSweepPeriod() time.Duration {
	if s.cfg.FileKey == nil {
		return 0
	}
	if r := s.cfg.FileRetention; r > 0 {
		return min(r, UnsharedOfferKept)
	}
	return UnsharedOfferKept
}

// ExpireFiles deletes every file offered FileRetention or longer before
// now, shared or not, and every offer not shared within
// UnsharedOfferKept, and returns how many it deleted. The server calls it
// at start and periodically; every node of a cluster may, since only one
// deletes each file.
func (s *Service) ExpireFiles(now time.Time) int {
	unshared := now.Add(-UnsharedOfferKept)
	expired := func(f *broker.File) bool {
		if !f.Shared() && !f.OfferedAt.After(unshared) {
			return true
		}
		return s.cfg.FileRetention > 0 && !f.Since().After(now.Add(-s.cfg.FileRetention))
	}
	n := s.deleteFiles(expired)
	if n > 0 {
		s.log.Info("expired shared files and unshared offers", "count", n, "retention", s.cfg.FileRetention)
	}
	return n
}

// deleteRoomFiles deletes the files offered in room, whose history was
// deleted.
func (s *Service) deleteRoomFiles(room string) {
	if n := s.deleteFiles(func(f *broker.File) bool { return f.Room == room }); n > 0 {
		s.log.Info("deleted the files of an expired room", "room", room, "count", n)
	}
}

// deleteFiles deletes the files pick chooses and returns how many this
// node deleted. A failure is logged: the next sweep tries again.
func (s *Service) deleteFiles(pick func(*broker.File) bool) int {
	ctx, cancel := brokerCtx()
	files, err := s.broker.Files(ctx, pick)
	cancel()
	if err != nil {
		s.log.Error("cannot list the shared files", "err", err)
		return 0
	}
	n := 0
	for _, f := range files {
		ctx, cancel := brokerCtx()
		deleted, err := s.broker.DeleteFile(ctx, f)
		cancel()
		if err != nil {
			s.log.Error("cannot delete a shared file", "file", f.ID, "room", f.Room, "err", err)
		}
		if deleted {
			s.metrics.FileExpired()
			s.log.Debug("file deleted", "file", f.ID, "room", f.Room, "offered", f.Since())
			n++
		}
	}
	if n > 0 {
		ctx, cancel := brokerCtx()
		// Every write to the bucket checks the revision it read, which
		// a purged key no longer has: no marker needs keeping.
		if err := s.broker.PurgeDeletedFiles(ctx, 0); err != nil {
			s.log.Warn("cannot purge the markers of deleted files; the next sweep tries again", "err", err)
		}
		cancel()
	}
	return n
}
