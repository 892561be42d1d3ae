# The app the hostile-client tests (pyhost/hostile_test.go) talk to. Every request that
# reaches it is counted, so a test can prove a refused request never got here.
import threading
from urllib.parse import parse_qs

_lock = threading.Lock()
_seen = {"n": 0}


def _count():
    with _lock:
        _seen["n"] += 1
        return _seen["n"]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(q.get("n", ["0"])[0])
    if path == "/count":  # how many requests reached the app before this one
        body = str(_count() - 1).encode()
    elif path == "/echo":  # reads the whole body, answers its length
        _count()
        got = 0
        while True:
            chunk = environ["wsgi.input"].read(65536)
            if not chunk:
                break
            got += len(chunk)
        body = ("read %d" % got).encode()
    elif path == "/list":  # an n-byte body, all in memory before it is written
        _count()
        body = b"x" * n
    elif path == "/stream":  # n bytes in 64 KiB chunks from a generator
        _count()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(n))])
        return (b"y" * min(65536, n - i) for i in range(0, n, 65536))
    else:  # /hello, /ignore (never reads its body) and anything else
        _count()
        body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
