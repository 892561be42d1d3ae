# Starts a non-daemon thread that only ends when told to by an atexit handler — which Python
# runs after it has waited for non-daemon threads, so finalisation would wait forever. pyhost
# must still exit, bounded by its shutdown timeout.
import atexit
import threading

stop = threading.Event()


def worker():
    while not stop.wait(0.05):
        pass


thread = threading.Thread(target=worker, daemon=False)
thread.start()
atexit.register(stop.set)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"background thread alive=%d\n" % thread.is_alive()]
