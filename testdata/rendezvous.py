# Proves parallel execution without timing: two requests meet through a shared 2-byte mmap,
# each setting its own byte and spinning in pure Python (no GIL release, no system call) until
# it sees the other's. A request that met leaves its byte set (the partner may not have looked
# yet); one that gave up clears it, so a later request cannot meet a request already gone. With a 30 s switch interval a spinner keeps a GIL it holds, so they can
# only meet if they hold different GILs (own) or none (free); on one shared GIL they cannot.
import json
import mmap
import sys
import time
from urllib.parse import parse_qs

sys.setswitchinterval(30)


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    slot = int(q["slot"][0])
    with open(q["file"][0], "r+b") as f:
        shared = mmap.mmap(f.fileno(), 2)
    shared[slot] = 1
    deadline = time.monotonic() + float(q.get("wait", ["5"])[0])
    met, spins = False, 0
    while True:
        if shared[1 - slot] == 1:
            met = True
            break
        spins += 1
        if spins % 10000 == 0 and time.monotonic() > deadline:
            break
    if not met:
        shared[slot] = 0
    shared.close()
    body = json.dumps({
        "met": met, "interp": id(sys),
        "gil": sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
