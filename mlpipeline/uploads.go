package mlpipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// PurgeUploads deletes the leftovers in Config.UploadDir: every entry
// (an upload directory of NewUploadDir, or a stray file) last changed
// before olderThan whose training has finished or was never recorded.
// A training finished normally deletes its own files; leftovers come from
// uploads whose job was never queued, from a process that stopped between
// the two, and from files it could not delete. An entry holding a file of
// a training still Processing is kept whatever its age, as is anything
// outside the directory. It returns how many entries it deleted; two
// processes purging at once do no harm.
func (s *Service) PurgeUploads(ctx context.Context, olderThan time.Time) (int, error) {
	root, err := filepath.Abs(s.cfg.UploadDir)
	if err != nil {
		return 0, fmt.Errorf("mlpipeline: purge uploads: %w", err)
	}
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mlpipeline: purge uploads: %w", err)
	}
	// Read after the listing: a job recorded since holds files newer than
	// olderThan, or is in this list.
	files, err := s.store.ProcessingFiles(ctx)
	if err != nil {
		return 0, fmt.Errorf("mlpipeline: purge uploads: %w", err)
	}
	keep := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		// The entry of root that holds the file.
		keep[filepath.Join(root, firstElem(rel))] = true
	}
	n := 0
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if keep[path] {
			continue
		}
		changed, err := lastChange(path)
		if err != nil || !changed.Before(olderThan) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return n, fmt.Errorf("mlpipeline: purge upload %s: %w", e.Name(), err)
		}
		n++
	}
	return n, nil
}

// firstElem is the first element of a relative path.
func firstElem(rel string) string {
	for {
		dir := filepath.Dir(rel)
		if dir == "." {
			return rel
		}
		rel = dir
	}
}

// lastChange is the latest modification time of path and, for a
// directory, of everything in it: an upload being written is recent.
func lastChange(path string) (time.Time, error) {
	var latest time.Time
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(latest) {
			latest = info.ModTime()
		}
		return nil
	})
	return latest, err
}
