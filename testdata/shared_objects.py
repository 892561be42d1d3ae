# An app whose threads change the objects pyhost is reading, and write() at the same time, while
# the response is produced. Harmless with a GIL; on a free-threaded build (3.13t) every borrowed
# item pyhost read without a strong reference or a lock could be freed under it.
#
#   /mutating-body       a list body another thread keeps replacing, growing and shrinking
#   /mutating-headers    start_response() called again and again (exc_info) with a header list
#                        another thread keeps changing
#   /concurrent-write?threads=N&writes=K
#                        N threads each write() K chunks of 64 bytes (one digit pair repeated)
#   /concurrent-start-response?threads=N&calls=K
#                        N threads each call start_response() K times (exc_info), with headers
#                        of changing sizes, before the body goes out
#   /                    hello
import sys
import threading

CHUNK = 256 << 10  # big: copying one takes long enough for the other thread to replace it


def _fresh_chunk(i):
    # A new object each time: replacing it in the list frees the old one at once.
    return bytes([97 + i % 26]) * CHUNK


def _churn_body(body, stop, filled):
    # The chunks are made here, so this thread owns them: when it replaces one, it is freed at
    # once (free-threaded CPython defers freeing an object another thread made), and its
    # memory goes to the next chunk, of another letter.
    body.extend(_fresh_chunk(i) for i in range(8))
    filled.set()
    i = 0
    while not stop.is_set() and i < 50_000:
        n = len(body)
        if n:
            body[i % n] = _fresh_chunk(i)
        if i % 3 == 0:
            body.append(_fresh_chunk(i))
        elif i % 3 == 1 and n > 1:
            body.pop()
        i += 1


def _fresh_header(i):
    return ("X-Churn-%d" % (i % 7), "v" * (1 + i % 300) + str(i))


def _churn_headers(headers, stop):
    i = 0
    while not stop.is_set() and i < 200_000:
        n = len(headers)
        if n:
            headers[i % n] = _fresh_header(i)
        if i % 2 == 0 and n < 40:
            headers.append(_fresh_header(i))
        elif n > 2:
            headers.pop()
        i += 1


def application(environ, start_response):
    path = environ["PATH_INFO"]
    plain = [("Content-Type", "text/plain")]

    if path == "/mutating-body":
        _stop_pending()
        body = []
        stop, filled = threading.Event(), threading.Event()
        churn = threading.Thread(target=_churn_body, args=(body, stop, filled))
        start_response("200 OK", plain)
        churn.start()
        filled.wait(10)
        try:
            return body
        finally:
            # pyhost drains the list after this returns; the thread keeps churning meanwhile and
            # is stopped by the next request at the latest.
            _pending.append((stop, churn))

    if path == "/mutating-headers":
        headers = [("Content-Type", "text/plain")] + [_fresh_header(i) for i in range(10)]
        stop = threading.Event()
        churn = threading.Thread(target=_churn_headers, args=(headers, stop))
        churn.start()
        try:
            for _ in range(2000):
                try:
                    raise ValueError("replace the response")
                except ValueError:
                    start_response("200 OK", headers, sys.exc_info())
        finally:
            stop.set()
            churn.join()
        start_response("200 OK", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"headers survived\n"]

    if path == "/concurrent-write":
        query = dict(p.split("=") for p in environ["QUERY_STRING"].split("&") if "=" in p)
        nthreads, nwrites = int(query.get("threads", 4)), int(query.get("writes", 200))
        write = start_response("200 OK", plain)
        errors = []

        def writer(t):
            chunk = (b"%02d" % t) * 32
            try:
                for _ in range(nwrites):
                    write(chunk)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return []

    if path == "/concurrent-start-response":
        query = dict(p.split("=") for p in environ["QUERY_STRING"].split("&") if "=" in p)
        nthreads, ncalls = int(query.get("threads", 4)), int(query.get("calls", 500))
        errors = []

        def starter(t):
            try:
                for i in range(ncalls):
                    # 100 bytes to 24 KB: the packed head outgrows its buffer and shrinks again.
                    value = ("%d" % t) * (100 + (i * 997 + t * 4999) % 24_000)
                    try:
                        raise ValueError("replace the response")
                    except ValueError:
                        start_response("200 OK", [("Content-Type", "text/plain"),
                                                  ("X-Thread", value)], sys.exc_info())
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=starter, args=(t,)) for t in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return [b"one head won\n"]

    _stop_pending()
    start_response("200 OK", plain)
    return [b"Hello, World!\n"]


_pending = []


def _stop_pending():
    while True:
        try:
            stop, churn = _pending.pop()
        except IndexError:  # empty (another request may have emptied it meanwhile)
            return
        stop.set()
        churn.join()
