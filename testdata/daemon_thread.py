# Starts a daemon thread that runs until the process ends. In the main interpreter Python's
# finalisation copes with it; a (shared-GIL) sub-interpreter cannot be ended under it, so pyhost
# exits without finalising rather than crash.
import threading
import time


def worker():
    while True:
        time.sleep(0.05)


thread = threading.Thread(target=worker, daemon=True)
thread.start()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"daemon thread alive=%d\n" % thread.is_alive()]
