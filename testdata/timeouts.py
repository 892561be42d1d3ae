# Requests that pass --request-timeout, for the request-timeout and queue-timeout tests. The
# function names are what the tests look for in the logged Python stacks.
import time
from urllib.parse import parse_qs

late_calls = []  # what start_response() did when a timed-out request called it


def spin_forever():
    n = 0
    while True:  # pure Python: the injected RequestTimeout lands here
        n += 1


def sleep_in_c():
    time.sleep(60)  # in C, out of reach of the exception until it returns


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
