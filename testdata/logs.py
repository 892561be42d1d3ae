# The logs tests' app (pyhost/logs_test.go): answers its request id and pid as JSON, with the
# status ?status=NNN asks for; ?say=TEXT writes TEXT to wsgi.errors, the way apps do (print()
# in pieces, then an unfinished line); ?unraisable=1 raises in a __del__ during the request;
# ?thread_raises=1 runs a thread that dies of an exception; ?raise=TEXT raises.
import json
import os
import threading
from urllib.parse import parse_qs


class _RaisesWhenCollected:
    def __del__(self):
        raise ValueError("raised in __del__ while serving")


def _raise_in_thread():
    raise KeyError("raised in a thread of the app")


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    errors = environ["wsgi.errors"]
    if "say" in q:
        print("said:", q["say"][0], file=errors)
        errors.write("unfinished " + q["say"][0])
    if "unraisable" in q:
        obj = _RaisesWhenCollected()
        del obj
    if "thread_raises" in q:
        t = threading.Thread(target=_raise_in_thread, name="raiser")
        t.start()
        t.join()
    if "raise" in q:
        raise RuntimeError("the app raised: " + q["raise"][0])
    status = q.get("status", ["200"])[0]
    body = json.dumps({"request_id": environ["pyhost.request_id"], "pid": os.getpid()}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if "own_id" in q:  # the app answers with a request id of its own
        headers.append(("X-Request-Id", q["own_id"][0]))
    start_response(status + " Whatever", headers)
    return [body]
