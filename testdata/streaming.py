# The app of the streamed-response tests (pyhost/stream_test.go). Side channels go through
# files in the folder named by ?dir=, so a test can see how far a generator got and tell it
# when to go on, without timing anything.
import os
import time
from urllib.parse import parse_qs


def pattern(offset, n):
    """n bytes of the stream at offset: each byte is its position mod 251, so a client can
    tell a byte that came out of order or twice."""
    return bytes((offset + i) % 251 for i in range(n))


def note(folder, name, text):
    """Writes text to folder/name whole (rename), so a reader never sees half of it."""
    tmp = os.path.join(folder, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(folder, name))


def wait_for(path, limit=30):
    end = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise RuntimeError("the test never created " + path)
        time.sleep(0.01)


class Counted:
    """A generator-like body of n bytes (n < 0: endless) in chunks of `chunk` bytes. After
    each chunk it writes how many bytes it has handed over to dir/progress; when the body is
    iterated to its end it writes dir/done, and close() writes dir/closed."""

    def __init__(self, folder, n, chunk):
        self.folder, self.n, self.chunk, self.sent = folder, n, chunk, 0
        # One precomputed block, sliced, keeps a multi-MB body cheap to make.
        self.block = pattern(0, 251 * (chunk // 251 + 2))

    def __iter__(self):
        while self.n < 0 or self.sent < self.n:
            size = self.chunk if self.n < 0 else min(self.chunk, self.n - self.sent)
            start = self.sent % 251
            data = self.block[start:start + size]
            yield data
            self.sent += size
            if self.folder:
                note(self.folder, "progress", str(self.sent))
        if self.folder:
            note(self.folder, "done", str(self.sent))

    def close(self):
        if self.folder:
            note(self.folder, "closed", str(self.sent))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    folder = q.get("dir", "")
    if path == "/hello":
        body = b"Hello, World!\n"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/hello-gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b for b in [b"Hello, World!\n"])
    if path == "/count":  # n bytes (endless if n < 0) in chunks of ?chunk=
        n, chunk = int(q.get("n", "0")), int(q.get("chunk", "65536"))
        headers = [("Content-Type", "application/octet-stream")]
        if n >= 0:
            headers.append(("Content-Length", str(n)))
        start_response("200 OK", headers)
        return Counted(folder, n, chunk)
    if path == "/sse":  # a first event, then a second once the test created dir/go
        write = start_response("200 OK", [("Content-Type", "text/event-stream")])
        if q.get("via") == "write":
            write(b"data: first\n\n")
            wait_for(os.path.join(folder, "go"))
            write(b"data: second\n\n")
            return []

        def events():
            yield b"data: first\n\n"
            wait_for(os.path.join(folder, "go"))
            yield b"data: second\n\n"
        return events()
    if path == "/file":  # ?name= through wsgi.file_wrapper
        f = open(q["name"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]
