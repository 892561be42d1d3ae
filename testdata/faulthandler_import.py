# Enables faulthandler at import, as apps do to get a Python traceback on a crash.
import faulthandler
import sys

faulthandler.enable(file=sys.stderr)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/crash":
        import ctypes
        ctypes.string_at(0)  # a real segmentation fault, inside Python code
    body = b"faulthandler enabled: %d\n" % faulthandler.is_enabled()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
