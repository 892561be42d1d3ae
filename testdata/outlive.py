# An app whose threads outlive their request: they keep start_response, its write() and
# wsgi.input, and use them after (or while) the request ends. Each thread records how its last
# call ended; a later request reads that back (/outcome?id=K), so tests can assert that a late
# call got a clear Python exception and never reached another request's state.
#
#   /                        hello, to prove the server still answers correctly
#   /write-later?id=K        a thread calls write() once /release?id=K says the request is over
#   /start-response-later?id=K   the same with start_response()
#   /read-later?id=K (POST)  the same with wsgi.input.read(); answers 202 at once
#   /release?id=K            lets thread K go on, then answers with its outcome
#   /write-race?id=K         a thread calls write() in a loop until it raises; the request
#                            returns as soon as the first write went out
#   /start-response-race?id=K  a thread calls start_response() in a loop until it raises
#   /read-race?id=K (POST)   a thread reads wsgi.input while the request answers 202 at once
#   /outcome?id=K            waits (10 s at most) for thread K's outcome
import sys
import threading
from urllib.parse import parse_qs

_lock = threading.Lock()
_outcomes = {}  # id -> text
_done = {}  # id -> Event set when the outcome is recorded
_release = {}  # id -> Event set by /release


def _event(table, key):
    with _lock:
        return table.setdefault(key, threading.Event())


def _record(key, outcome):
    with _lock:
        _outcomes[key] = outcome
    _event(_done, key).set()


def _describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def _start(target, *args):
    # Not a daemon: shutdown waits for it, and every one ends on its own.
    threading.Thread(target=target, args=args).start()


def _later(key, call):
    _event(_release, key).wait(30)
    try:
        call()
        _record(key, "no exception")
    except Exception as exc:
        _record(key, _describe(exc))


def _write_loop(key, write, first_sent):
    n = 0
    try:
        while n < 1_000_000:
            write(b"x" * 64)
            n += 1
            first_sent.set()
        _record(key, "no exception after %d writes" % n)
    except Exception as exc:
        _record(key, _describe(exc))
    finally:
        first_sent.set()


def _start_response_loop(key, start_response, running):
    n = 0
    try:
        while n < 1_000_000:
            try:
                raise ValueError("replacing the response")
            except ValueError:
                start_response("500 Replaced", [("Content-Type", "text/plain"),
                                                ("X-N", str(n))], sys.exc_info())
            n += 1
            running.set()
        _record(key, "no exception after %d calls" % n)
    except Exception as exc:
        _record(key, _describe(exc))
    finally:
        running.set()


def _read_loop(key, stream):
    got = 0
    try:
        while True:
            chunk = stream.read(4096)
            if not chunk:
                break
            got += len(chunk)
        _record(key, "read %d bytes" % got)
    except Exception as exc:
        _record(key, _describe(exc))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    key = parse_qs(environ["QUERY_STRING"]).get("id", [""])[0]
    plain = [("Content-Type", "text/plain")]

    if path == "/write-later":
        write = start_response("200 OK", plain)
        _start(_later, key, lambda: write(b"too late\n"))
        return [b"ok\n"]
    if path == "/start-response-later":
        start_response("200 OK", plain)
        _start(_later, key, lambda: start_response("200 OK", plain, sys.exc_info()))
        return [b"ok\n"]
    if path == "/read-later":
        stream = environ["wsgi.input"]
        _start(_later, key, lambda: stream.read())
        start_response("202 Accepted", plain)
        return [b"accepted\n"]
    if path == "/release":
        _event(_release, key).set()
        return _answer_outcome(key, start_response)

    if path == "/write-race":
        write = start_response("200 OK", plain)
        first_sent = threading.Event()
        _start(_write_loop, key, write, first_sent)
        first_sent.wait(10)
        return []
    if path == "/start-response-race":
        running = threading.Event()
        _start(_start_response_loop, key, start_response, running)
        running.wait(10)
        return [b"body\n"]
    if path == "/read-race":
        _start(_read_loop, key, environ["wsgi.input"])
        start_response("202 Accepted", plain)
        return [b"accepted\n"]
    if path == "/outcome":
        return _answer_outcome(key, start_response)

    start_response("200 OK", plain)
    return [b"Hello, World!\n"]


def _answer_outcome(key, start_response):
    if not _event(_done, key).wait(10):
        start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
        return [b"thread %s recorded nothing within 10 s\n" % key.encode()]
    with _lock:
        outcome = _outcomes.pop(key)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [outcome.encode() + b"\n"]
