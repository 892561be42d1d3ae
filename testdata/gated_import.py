# An app whose import waits until the file named by $PYHOST_TEST_GATE exists (a minute at
# most): a test holds its workers in "starting" for as long as it needs, without a timing.
import os
import time

_gate = os.environ.get("PYHOST_TEST_GATE", "")
_deadline = time.monotonic() + 60
while _gate and not os.path.exists(_gate) and time.monotonic() < _deadline:
    time.sleep(0.02)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
    return [b"opened\n"]
