# A WSGI app that exercises every corner of PEP 3333 the integration tests check. Each route
# reports what it saw as JSON (or misbehaves on purpose, under /error/).
import hashlib
import io
import json
import sys
import threading
import time
from urllib.parse import parse_qs

closed = []          # close() calls recorded by /close and /slow-stream
closed_lock = threading.Lock()


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _query(environ):
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


class Closing:
    """An iterable with close(), recording that close() happened."""

    def __init__(self, name, chunks, delay=0.0):
        self.name, self.chunks, self.delay = name, chunks, delay

    def __iter__(self):
        for c in self.chunks:
            if self.delay:
                time.sleep(self.delay)
            yield c

    def close(self):
        with closed_lock:
            closed.append(self.name)


def environ_dump(environ, start_response):
    out = {}
    for k, v in environ.items():
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, (bool, tuple)):
            out[k] = v
        else:
            out[k] = "<%s>" % type(v).__name__
    out["_input_methods"] = [m for m in ("read", "readline", "readlines", "__iter__")
                             if hasattr(environ["wsgi.input"], m)]
    out["_errors_methods"] = [m for m in ("write", "writelines", "flush")
                              if hasattr(environ["wsgi.errors"], m)]
    out["_file_wrapper_callable"] = callable(environ["wsgi.file_wrapper"])
    out["_path_info_latin1_bytes"] = list(environ["PATH_INFO"].encode("latin-1"))
    out["_thread"] = threading.get_ident()
    out["_sys_executable"] = sys.executable
    return _json(start_response, out)


def echo(environ, start_response):
    """Reads the body the way ?mode= says and returns its length, sha256 and the reads' shape."""
    q = _query(environ)
    inp = environ["wsgi.input"]
    mode = q.get("mode", "read")
    pieces = []
    if mode == "read":
        data = inp.read()
    elif mode == "readn":
        n = int(q.get("n", "7"))
        while True:
            chunk = inp.read(n)
            if not chunk:
                break
            assert len(chunk) <= n, (len(chunk), n)
            pieces.append(len(chunk))
        data = b""  # recomputed below
        inp = None
    elif mode == "readline":
        limit = int(q["limit"]) if "limit" in q else -1
        lines = []
        while True:
            line = environ["wsgi.input"].readline(limit) if limit >= 0 else environ["wsgi.input"].readline()
            if not line:
                break
            lines.append(line)
        pieces = [len(l) for l in lines]
        data = b"".join(lines)
    elif mode == "readlines":
        lines = inp.readlines()
        pieces = [len(l) for l in lines]
        data = b"".join(lines)
    elif mode == "iter":
        lines = list(inp)
        pieces = [len(l) for l in lines]
        data = b"".join(lines)
    else:
        raise ValueError(mode)
    if mode == "readn":
        # read again to assemble data for the checksum: the stream is exhausted, so re-read
        # is impossible; instead, readn reports piece sizes and the test compares the sum.
        pass
    after = [environ["wsgi.input"].read(-1), environ["wsgi.input"].read(10),
             environ["wsgi.input"].readline()]
    return _json(start_response, {
        "len": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pieces": pieces,
        "after_end": [len(a) for a in after],
        "content_length": environ.get("CONTENT_LENGTH"),
    })


def stream(environ, start_response):
    n = int(_query(environ).get("n", "5"))
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b""  # empty chunks must not make the headers go out early or break anything
        for i in range(n):
            yield b"chunk %d\n" % i
            yield b""
    return gen()


def write_callable(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    write(b"then ")
    return [b"returned\n"]


python_reads = []  # read() calls on a TrackedFile: none when the server uses sendfile


class TrackedFile(io.FileIO):
    def read(self, *args):
        python_reads.append(args)
        return super().read(*args)


def file_wrapper(environ, start_response):
    q = _query(environ)
    if "bytesio" in q:
        f = io.BytesIO(b"from a BytesIO\n" * 100)
    elif "tracked" in q:
        f = TrackedFile(q["path"], "rb")
    else:
        f = open(q["path"], "rb")
        if "skip" in q:
            f.seek(int(q["skip"]))
    headers = [("Content-Type", "application/octet-stream")]
    if "length" in q:
        headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](f, 32768)


def close_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing(_query(environ).get("name", "close"), [b"a", b"b"])


def slow_stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    q = _query(environ)
    return Closing(q.get("name", "slow"), [b"x" * 65536] * int(q.get("n", "200")), delay=0.01)


def python_read_count(environ, start_response):
    return _json(start_response, len(python_reads))


def closed_list(environ, start_response):
    with closed_lock:
        return _json(start_response, list(closed))


def sleep(environ, start_response):
    q = _query(environ)
    time.sleep(int(q.get("ms", "10")) / 1000)
    return _json(start_response, {"id": q.get("id"), "thread": threading.get_ident()})


def head(environ, start_response):
    body = b"a body HEAD must not send\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def cookies(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"),
                              ("Set-Cookie", "b=2")])
    return [b"two cookies\n"]


def threaded_write(environ, start_response):
    """write() from several threads at once: not what PEP 3333 has in mind, but it must
    not corrupt the response or crash the server."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])

    def writer(mark):
        for _ in range(50):
            write(mark * 1000)
    threads = [threading.Thread(target=writer, args=(bytes([65 + i]),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return []


# Misbehaving apps: each must cost only its own request.
def err_raise(environ, start_response):
    raise RuntimeError("boom from the app")


def err_non_iterable(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return 42


def err_double_start(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"never"]


def err_bad_status(environ, start_response):
    start_response(_query(environ).get("s", "OK"), [("Content-Type", "text/plain")])
    return [b"never"]


def err_header_type(environ, start_response):
    start_response("200 OK", [("Content-Length", 5)])
    return [b"never"]


def err_crlf(environ, start_response):
    start_response("200 OK", [("X-Injected", "a\r\nSet-Cookie: evil=1")])
    return [b"never"]


def err_non_latin1(environ, start_response):
    start_response("200 OK", [("X-Euro", "\u20ac")])
    return [b"never"]


def err_headers_not_list(environ, start_response):
    start_response("200 OK", {"Content-Type": "text/plain"})
    return [b"never"]


def err_hop(environ, start_response):
    start_response("200 OK", [(_query(environ).get("h", "Connection"), "close")])
    return [b"never"]


def err_no_start(environ, start_response):
    return [b"body without start_response"]


def err_no_start_empty(environ, start_response):
    return []


def err_return_bytes(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return b"the body itself, not in a list"


def err_yield_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["a str, not bytes"]


def err_midstream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"first chunk\n"
        raise RuntimeError("boom mid-stream")
    return gen()


class RaisingClosing(Closing):
    def __iter__(self):
        yield b"first chunk\n"
        raise RuntimeError("boom mid-stream, with close()")


def err_midstream_close(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return RaisingClosing("midstream", [])


def err_exc_info(environ, start_response):
    try:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise ValueError("caught by the app")
    except ValueError:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")],
                       sys.exc_info())
        return [b"handled with exc_info\n"]


def err_exc_info_late(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"headers are out\n"
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        yield b"never reached\n"
    return gen()


def err_close_raises(environ, start_response):
    class Bad:
        def __iter__(self):
            return iter([b"body\n"])

        def close(self):
            raise RuntimeError("close() failed")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Bad()


def err_content_length(environ, start_response):
    # Content-Length values as given (?v=%2B5 for "+5"; v twice for two fields).
    values = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).get("v", ["5"])
    start_response("200 OK", [("Content-Type", "text/plain")] +
                   [("Content-Length", v) for v in values])
    return [b"never"]


def err_exit(environ, start_response):
    raise SystemExit(3)


routes = {
    "/environ": environ_dump, "/echo": echo, "/stream": stream, "/write": write_callable,
    "/filewrapper": file_wrapper, "/close": close_route, "/slow-stream": slow_stream,
    "/closed": closed_list, "/threaded-write": threaded_write,
    "/python-reads": python_read_count, "/error/midstream-close": err_midstream_close, "/sleep": sleep, "/head": head, "/cookies": cookies,
    "/error/raise": err_raise, "/error/non-iterable": err_non_iterable,
    "/error/double-start": err_double_start, "/error/bad-status": err_bad_status,
    "/error/header-type": err_header_type, "/error/crlf": err_crlf,
    "/error/non-latin1": err_non_latin1, "/error/headers-not-list": err_headers_not_list,
    "/error/hop": err_hop, "/error/no-start": err_no_start,
    "/error/no-start-empty": err_no_start_empty, "/error/yield-str": err_yield_str,
    "/error/return-bytes": err_return_bytes,
    "/error/midstream": err_midstream, "/error/exc-info": err_exc_info,
    "/error/exc-info-late": err_exc_info_late, "/error/close-raises": err_close_raises,
    "/error/exit": err_exit, "/error/content-length": err_content_length,
}


def application(environ, start_response):
    route = routes.get(environ["PATH_INFO"])
    if route is None:
        if environ["PATH_INFO"].startswith("/environ"):
            return environ_dump(environ, start_response)
        return _json(start_response, {"error": "no route"}, "404 Not Found")
    return route(environ, start_response)
