package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// treeRSS returns the resident memory in bytes of process root and all its descendants (a
// supervisor or master and its workers), and how many processes that is. Shared pages count
// once per process, as ps and top show them: what matters here is growth, not the total.
func treeRSS(root int) (rss int64, procs int, err error) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so cut at the last ")".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		var state byte
		var ppid int
		if _, err := fmt.Sscanf(string(b[i+2:]), "%c %d", &state, &ppid); err != nil {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		children[ppid] = append(children[ppid], pid)
	}
	page := int64(os.Getpagesize())
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		queue = append(queue, children[pid]...)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
		if err != nil {
			if pid == root {
				return 0, 0, fmt.Errorf("server process %d is gone: %w", root, err)
			}
			continue
		}
		var size, resident int64
		if _, err := fmt.Sscanf(string(b), "%d %d", &size, &resident); err != nil {
			continue
		}
		rss += resident * page
		procs++
	}
	return rss, procs, nil
}
