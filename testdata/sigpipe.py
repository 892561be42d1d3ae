# Writes to a socket and to a pipe whose reading end is closed, from a thread the app starts
# (a thread Python created, not one of pyhost's): the write must fail with BrokenPipeError,
# never kill the process with SIGPIPE. /child reports how a subprocess sees SIGPIPE.
import json
import os
import socket
import subprocess
import threading


def _broken_socket():
    a, b = socket.socketpair()
    b.close()
    try:
        for _ in range(64):  # the first write may land in the buffer before the peer's close is seen
            a.send(b"x" * 65536)
        return "no error"
    except OSError as e:
        return type(e).__name__
    finally:
        a.close()


def _broken_pipe():
    r, w = os.pipe()
    os.close(r)
    try:
        os.write(w, b"x")
        return "no error"
    except OSError as e:
        return type(e).__name__
    finally:
        os.close(w)


def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def _child_sigpipe():
    # SigIgn in /proc/PID/status is a hex mask of ignored signals; SIGPIPE (13) is bit 12.
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True,
                            check=True).stdout
    mask = int(next(l for l in status.splitlines() if l.startswith("SigIgn:")).split()[1], 16)
    return "ignored" if mask & (1 << 12) else "default"


def application(environ, start_response):
    if environ["PATH_INFO"] == "/child":
        result = {"child_sigpipe": _child_sigpipe()}
    else:
        result = {"socket": _in_thread(_broken_socket), "pipe": _in_thread(_broken_pipe),
                  "request_thread_pipe": _broken_pipe()}
    body = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
