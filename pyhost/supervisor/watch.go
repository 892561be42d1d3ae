package supervisor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The watcher of --reload: inotify watches on every folder of the app's source trees (one
// watch a folder, added for new folders as they appear), so that nothing is polled; bursts
// of events (an editor writes a file in several steps, a checkout touches many) are
// debounced into one change, which the supervisor's loop turns into a reload.

const (
	// watchQuiet: a change is reported once no watched file changed for this long...
	watchQuiet = 300 * time.Millisecond
	// watchMaxDelay: ...or this long after its first event, if files keep changing.
	watchMaxDelay = 2 * time.Second
	// maxWatchedDirs bounds the folders watched (each costs an inotify watch, a kernel
	// resource shared by the user's processes: fs.inotify.max_user_watches).
	maxWatchedDirs = 8192
	// watchMask: a file written and closed, created, moved in or out, or deleted.
	watchMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE |
		unix.IN_DELETE | unix.IN_ONLYDIR
)

// watcher watches source trees for changed Python files.
type watcher struct {
	fd   int
	file *os.File // fd, read through Go's poller so that close ends the read
	log  *slog.Logger
	// scripts are app files watched whatever their name (a mod_wsgi script ends in .wsgi).
	scripts map[string]bool
	wds     map[int]string // watch descriptor → folder; only the reading goroutine uses it
	full    bool           // maxWatchedDirs reached (said once)
	hits    chan string    // changed paths, from the reader to the debouncer
	changes chan []string  // debounced changes, to the supervisor
	done    chan struct{}
}

// watchSources starts watching the trees under roots (and the app files in scripts). Changes
// come on the returned watcher's changes channel, each the sorted list of changed paths.
func watchSources(roots, scripts []string, log *slog.Logger) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &watcher{fd: fd, file: os.NewFile(uintptr(fd), "inotify"), log: log,
		scripts: map[string]bool{}, wds: map[int]string{}, hits: make(chan string, 64),
		changes: make(chan []string), done: make(chan struct{})}
	for _, s := range scripts {
		w.scripts[s] = true
	}
	for _, r := range roots {
		if err := w.addDir(r); err != nil {
			log.Warn("--reload cannot watch a folder of the app", "folder", r, "error", err)
			continue
		}
		w.addTree(r, false)
	}
	go w.read()
	go w.debounce()
	return w, nil
}

// close stops watching; the changes channel delivers nothing more.
func (w *watcher) close() {
	close(w.done)
	w.file.Close()
}

// dirs is how many folders are watched (only before the reader starts, or from it).
func (w *watcher) dirs() int { return len(w.wds) }

// addDir watches one folder.
func (w *watcher) addDir(dir string) error {
	if len(w.wds) >= maxWatchedDirs {
		if !w.full {
			w.full = true
			w.log.Warn("--reload watches no more folders: the app's trees have too many; "+
				"changes in the others are not seen. Point --chdir or --python-path at the "+
				"app's own folder", "limit", maxWatchedDirs, "first_unwatched", dir)
		}
		return nil
	}
	wd, err := unix.InotifyAddWatch(w.fd, dir, watchMask)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			err = fmt.Errorf("%w (the user's inotify watches are used up: raise "+
				"fs.inotify.max_user_watches with sysctl)", err)
		}
		return err
	}
	w.wds[wd] = dir
	return nil
}

// addTree watches the folders below root (root itself is watched already); with report, the
// Python files found there count as changed (a folder moved in with its files, or files
// written in a new folder before its watch was added).
func (w *watcher) addTree(root string, report bool) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			if path == root {
				return err
			}
			return fs.SkipDir // gone, or unreadable: nothing of it can be imported anyway
		case d.IsDir() && path != root:
			if skipSourceDir(path) {
				return fs.SkipDir
			}
			if err := w.addDir(path); err != nil {
				w.log.Warn("--reload cannot watch a folder", "folder", path, "error", err)
				return fs.SkipDir
			}
		case !d.IsDir() && report && w.source(path):
			w.hit(path)
		}
		return nil
	})
}

// source says whether a change to the file at path is a change to the app's code: a Python
// file (not an editor's hidden lock or swap file) or one of the app scripts.
func (w *watcher) source(path string) bool {
	name := filepath.Base(path)
	return w.scripts[path] || (strings.HasSuffix(name, ".py") && !strings.HasPrefix(name, "."))
}

// skipSourceDir: folders that hold no code of the app's own, or code it does not edit.
func skipSourceDir(path string) bool {
	switch name := filepath.Base(path); {
	case strings.HasPrefix(name, "."), name == "__pycache__", name == "node_modules",
		name == "site-packages", name == "dist-packages":
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg")) // a virtualenv
	return err == nil
}

func (w *watcher) hit(path string) {
	select {
	case w.hits <- path:
	case <-w.done:
	}
}

// read turns inotify's events into hits until the watcher is closed.
func (w *watcher) read() {
	defer close(w.hits)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			select {
			case <-w.done:
			default:
				w.log.Error("--reload stopped watching: reading inotify failed", "error", err)
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int(int32(binary.NativeEndian.Uint32(buf[off:])))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			off += unix.SizeofInotifyEvent
			name := strings.TrimRight(string(buf[off:min(off+nameLen, n)]), "\x00")
			off += nameLen
			w.event(wd, mask, name)
		}
	}
}

// event handles one inotify event on the folder of wd, about its entry name.
func (w *watcher) event(wd int, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.hit("(too many changes at once: the kernel dropped some of their events)")
		return
	}
	dir, ok := w.wds[wd]
	if !ok {
		return
	}
	if mask&unix.IN_IGNORED != 0 { // the folder is gone
		delete(w.wds, wd)
		return
	}
	if name == "" {
		return
	}
	path := filepath.Join(dir, name)
	if mask&unix.IN_ISDIR == 0 {
		if mask&unix.IN_CREATE == 0 && w.source(path) { // a created file is reported when written
			w.hit(path)
		}
		return
	}
	if skipSourceDir(path) {
		return
	}
	switch {
	case mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		if err := w.addDir(path); err != nil {
			w.log.Warn("--reload cannot watch a new folder", "folder", path, "error", err)
			return
		}
		w.addTree(path, true)
	case mask&unix.IN_MOVED_FROM != 0: // its watches would follow it out of the tree
		for wd, d := range w.wds {
			if d == path || strings.HasPrefix(d, path+string(filepath.Separator)) {
				_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
				delete(w.wds, wd)
			}
		}
		w.hit(path + string(filepath.Separator))
	case mask&unix.IN_DELETE != 0: // its own watch ends by itself (IN_IGNORED)
		w.hit(path + string(filepath.Separator))
	}
}

// debounce gathers hits into one change per burst and hands it to the supervisor.
func (w *watcher) debounce() {
	var timer *time.Timer
	var fire <-chan time.Time
	var first time.Time
	pending := map[string]bool{}
	for {
		select {
		case path, ok := <-w.hits:
			if !ok {
				return
			}
			if len(pending) == 0 {
				first = time.Now()
			}
			pending[path] = true
			wait := min(watchQuiet, time.Until(first.Add(watchMaxDelay)))
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			paths := make([]string, 0, len(pending))
			for p := range pending {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			clear(pending)
			select {
			case w.changes <- paths:
			case <-w.done:
				return
			}
		case <-w.done:
			return
		}
	}
}
