# An app for the recycling tests (--maximum-requests, --memory-limit, --cpu-time-limit ...).
#   /        JSON: the pid of the worker that answered
#   /grow    keeps 40 MiB more, every page written so that it is resident, for the life of
#            the process: its RSS grows by 40 MiB per request
#   /burn    spends about 0.3 s of CPU in pure Python
import json
import os
import time

_kept = []


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/grow":
        _kept.append(bytearray(b"x" * (40 << 20)))
    elif path == "/burn":
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
    body = json.dumps({"pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
