# Requests that stay busy, for the live thread view (/debug/threads) tests.
#   /sleep?ms=N  sleeps in sleeping_in_the_app (time.sleep lets go of the GIL)
#   /hold?ms=N   holds the GIL in C code for N ms (libc sleep called through ctypes.PyDLL,
#                which keeps the GIL): a stuck C call, as far as the server can tell
import time
from urllib.parse import parse_qs


def sleeping_in_the_app(seconds):
    time.sleep(seconds)


def holding_the_gil(ms):
    import ctypes

    ctypes.PyDLL(None).usleep(ctypes.c_uint(ms * 1000))


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    ms = int(q.get("ms", ["100"])[0])
    # Tests wait for this line to know the request is inside the app, and which id it has.
    environ["wsgi.errors"].write(
        "threads.py: started %s id=%s\n" % (environ["PATH_INFO"], environ["pyhost.request_id"])
    )
    environ["wsgi.errors"].flush()
    if environ["PATH_INFO"] == "/hold":
        holding_the_gil(ms)
    else:
        sleeping_in_the_app(ms / 1000)
    body = b"done\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
