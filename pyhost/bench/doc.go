// Package bench is `pyhost bench`: it serves an app under a matrix of configurations (GIL
// mode, parallelism, pyhost builds), one cell at a time, each pyhost as a child process on
// loopback ports of its own, drives each cell with its own load generator (a minimal
// keep-alive HTTP/1.1 client, closed or open loop), reads the server's process tree from /proc
// (CPU, RSS) and its /metrics (GIL wait, GIL re-enabled), and reports a table, JSON and a
// self-contained HTML page with SVG charts.
//
// It never links Python (it runs pyhost binaries) and builds with CGO_ENABLED=0.
package bench
