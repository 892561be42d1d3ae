# An app whose requests are short (/) or long (/slow: 2 ms in one call, most of it asleep),
# for the Go-processor tuner's test: a worker among siblings takes its share of the cores while
# requests are short and all of them again once they are long.
import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.002)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
