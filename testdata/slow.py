# Requests that take a while, for graceful-shutdown and concurrency tests.
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    if "id" in q:  # tests wait for this line to know the request is inside the app
        environ["wsgi.errors"].write("slow.py: started id=%s\n" % q["id"][0])
        environ["wsgi.errors"].flush()
    time.sleep(int(q.get("ms", ["100"])[0]) / 1000)
    body = ("slept %s id=%s" % (q.get("ms", ["100"])[0], q.get("id", [""])[0])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
