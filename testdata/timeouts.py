# Requests that pass --request-timeout, for the request-timeout and queue-timeout tests. The
# function names are what the tests look for in the logged Python stacks.
import re
import time
from urllib.parse import parse_qs

late_calls = []  # what start_response() did when a timed-out request called it


def spin_forever():
    n = 0
    while True:  # pure Python: the injected RequestTimeout lands here
        n += 1


def sleep_in_c():
    time.sleep(60)  # in C, out of reach of the exception until it returns


def match_in_c():
    # Catastrophic backtracking: minutes inside the re module's C code, which never lets go of
    # the GIL (with one) and never looks for an asynchronous exception.
    re.match(r"(a+)+$", "a" * 34 + "b")


def spin_then_respond(start_response):
    try:
        spin_forever()
    except TimeoutError as e:  # pyhost.RequestTimeout is a TimeoutError
        late_calls.append("caught %s.%s" % (type(e).__module__, type(e).__name__))
    try:
        start_response("200 OK", [("Content-Type", "text/plain")])
        late_calls.append("start_response worked")
    except Exception as e:
        late_calls.append("start_response raised %s" % type(e).__name__)
    return [b"too late\n"]


class _Body(list):
    pass


def close_in_c(start_response):
    # The response is complete when the deadline passes; close() is C code (a ctypes call
    # that lets go of the GIL), after which the request runs no more Python: a RequestTimeout
    # sent meanwhile is never raised, and must not be in the next request on this thread.
    import ctypes
    import functools

    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    body = _Body([b"done"])
    body.close = functools.partial(ctypes.CDLL(None).usleep, 500000)
    return body


def stream_then_spin(start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"started\n")
    spin_forever()
    return []


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/spin":
        spin_forever()
    if path == "/sleep":
        sleep_in_c()
    if path == "/regex":
        match_in_c()
    if path == "/close-in-c":
        return close_in_c(start_response)
    if path == "/late":
        return spin_then_respond(start_response)
    if path == "/stream":
        return stream_then_spin(start_response)
    if path == "/late-calls":
        body = "\n".join(late_calls).encode()
    elif path == "/quick":
        if "id" in q:  # tests wait for this line to know the request is inside the app
            environ["wsgi.errors"].write("timeouts.py: started id=%s\n" % q["id"][0])
            environ["wsgi.errors"].flush()
        time.sleep(int(q.get("ms", ["0"])[0]) / 1000)
        body = b"quick"
    else:
        body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
