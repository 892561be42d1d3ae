# For the GIL gate's probe: /spin?ms=N keeps the GIL for N ms (a pure-Python loop; the clock
# it reads does not release the GIL), /gil says whether this interpreter has a GIL at all (a
# free-threaded build may run without), anything else answers at once.
import sys
import time


def application(environ, start_response):
    qs = environ.get("QUERY_STRING", "")
    if environ["PATH_INFO"] == "/spin" and qs.startswith("ms="):
        end = time.perf_counter() + int(qs[3:]) / 1000
        n = 0
        while time.perf_counter() < end:
            n += 1
        body = b"spun %d\n" % n
    elif environ["PATH_INFO"] == "/gil":
        enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
        body = b"1" if enabled else b"0"
    else:
        body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
