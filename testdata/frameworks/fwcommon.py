"""Helpers shared by the framework test apps (testdata/frameworks/*): a gate that holds a
streamed response open until the client says go, so a test can see that the first chunks
reached it before the generator finished, and the texts every app's endpoints return."""

import hashlib
import json
import threading

_gates = {}
_gates_lock = threading.Lock()

GATE_TIMEOUT = 10.0  # seconds a gated stream waits for /gate/release before giving up


def _gate(key):
    with _gates_lock:
        return _gates.setdefault(key, threading.Event())


def release(key):
    """Opens the gate KEY (creating it when the stream has not reached it yet)."""
    _gate(key).set()
    return "released %s\n" % key


def stream_chunks(n):
    """The plain stream: n lines, as str."""
    for i in range(n):
        yield "line %d of %d\n" % (i, n)


def gated_chunks(key):
    """Five lines, then a wait for release(KEY), then five more: a server that buffers the
    response until the iterable ends makes the client wait GATE_TIMEOUT and read 'gate timed out'."""
    for i in range(5):
        yield "before %d\n" % i
    if not _gate(key).wait(GATE_TIMEOUT):
        yield "gate timed out\n"
    for i in range(5):
        yield "after %d\n" % i
    with _gates_lock:
        _gates.pop(key, None)


def sha256_stream(f, chunk=64 * 1024):
    """(hex digest, size) of everything readable from file object f."""
    h = hashlib.sha256()
    size = 0
    while True:
        b = f.read(chunk)
        if not b:
            break
        h.update(b)
        size += len(b)
    return h.hexdigest(), size


def dumps(obj):
    """JSON with sorted keys, as every app answers."""
    return json.dumps(obj, sort_keys=True)
