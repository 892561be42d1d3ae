"""Benchmark test app (pyhost/bench_test.go): every third request raises, so pyhost answers
500 to a third of them; `pyhost bench` must count those as errors of their kind."""

import itertools
import threading

_count = itertools.count()
_lock = threading.Lock()


def application(environ, start_response):
    with _lock:
        n = next(_count)
    if n % 3 == 2:
        raise RuntimeError("flaky.py fails every third request (on purpose)")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
