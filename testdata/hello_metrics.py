# hello.py with the pyhost module's metrics recording on, for the benchmark of its cost
# (wsgi/pymodule_bench_test.go).
import pyhost

pyhost.process_metrics()  # the first call starts the recording, process-wide


def application(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
