# An app for the --processes tests: it reports the process and the wsgi flags it runs with,
# the version text it read at import (version.txt next to this file, when there is one: the
# reload test edits it), and ends its own process on demand.
#   /         JSON: pid, wsgi.multiprocess, wsgi.multithread, version, and the names of
#             pyhost's worker variables the app can see (none, when all is well)
#   /segv     reads address 0 through ctypes: the process dies of SIGSEGV
#   /exit     os._exit(3): the process ends at once, without cleanup
import ctypes
import json
import os

_here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(_here, "version.txt")) as f:
        VERSION = f.read().strip()
except FileNotFoundError:
    VERSION = ""


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/segv":
        ctypes.string_at(0)
    elif path == "/exit":
        os._exit(3)
    body = json.dumps({
        "pid": os.getpid(),
        "multiprocess": environ["wsgi.multiprocess"],
        "multithread": environ["wsgi.multithread"],
        "version": VERSION,
        "worker_env": sorted(k for k in os.environ if k.startswith("PYHOST_WORKER")),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
