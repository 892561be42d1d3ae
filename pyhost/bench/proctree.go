package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The server's process tree, read from /proc: the pyhost process and every descendant (the
// workers of --processes). CPU is each thread's scheduler run time in nanoseconds
// (schedstat), or utime+stime in clock ticks where that is missing (Linux exposes USER_HZ
// as 100 to user space on every architecture pyhost builds for).
const clockTick = 10 * time.Millisecond

var pageSize = int64(os.Getpagesize())

// procStat is one process's parent, CPU and RSS.
type procStat struct {
	ppid int
	cpu  time.Duration
	rss  int64
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 22 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	rss, _ := strconv.ParseInt(f[21], 10, 64)
	return procStat{ppid: ppid, cpu: time.Duration(ut+st) * clockTick, rss: rss * pageSize}, true
}

// treeUsage is the CPU so far and the RSS now of root and its descendants, found through
// /proc/PID/task/TID/children (cheap: no scan of every process of the machine).
func treeUsage(root int) (cpu time.Duration, rss int64) {
	for _, pid := range descendants(root) {
		if st, ok := readStat(pid); ok {
			if ns, ok := schedRuntime(pid); ok {
				st.cpu = ns // nanoseconds, where ticks are too coarse for a short cell
			}
			cpu += st.cpu
			rss += st.rss
		}
	}
	return cpu, rss
}

// schedRuntime is the CPU time of pid's live threads in nanoseconds (the first field of each
// /proc/PID/task/TID/schedstat: utime+stime as the scheduler counts it).
func schedRuntime(pid int) (time.Duration, bool) {
	files, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
	var sum int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fs := strings.Fields(string(b))
		if len(fs) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += ns
	}
	return time.Duration(sum), len(files) > 0
}

// descendants is root and every process below it.
func descendants(root int) []int {
	pids := []int{root}
	for i := 0; i < len(pids) && i < 4096; i++ {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pids[i]), "task", "*", "children"))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
		}
	}
	return pids
}

// rssSampler samples the tree's RSS while a cell is measured: its peak, and its steady
// value (the mean of the samples of the second half of the run).
type rssSampler struct {
	stop    chan struct{}
	done    chan struct{}
	samples []int64
	peak    int64
}

func sampleRSS(root int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			_, rss := treeUsage(root)
			s.samples = append(s.samples, rss)
			s.peak = max(s.peak, rss)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the peak and steady RSS.
func (s *rssSampler) end() (peak, steady int64) {
	close(s.stop)
	<-s.done
	half := s.samples[len(s.samples)/2:]
	var sum int64
	for _, v := range half {
		sum += v
	}
	return s.peak, sum / int64(len(half))
}
