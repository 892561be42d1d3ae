# hello.py with an event callback that does nothing, for the benchmark of the cost of
# delivering request_started and request_finished (wsgi/pymodule_bench_test.go).
import pyhost


@pyhost.subscribe_events
def ignore(name, **event):
    pass


def application(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
