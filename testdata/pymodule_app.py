# An app for the pyhost-module tests (pyhost/pymodule_test.go): it reports the module's
# constants, request_id() and metrics as JSON, and records the events of its interpreter.
import json
import sys
import threading
import time

import pyhost

events = []  # (name, fields) of this interpreter's events, in the order they arrived
events_lock = threading.Lock()
bad_requests = set()


@pyhost.subscribe_events
def record(name, **event):
    fields = {k: v for k, v in event.items() if k not in ("environ", "exception_info")}
    if name == "request_started":
        fields["path"] = event["environ"]["PATH_INFO"]
        fields["environ_id"] = event["environ"]["pyhost.request_id"]
        fields["request_id_now"] = pyhost.request_id()
    elif name == "request_exception":
        exc_type, exc, tb = event["exception_info"]
        fields["type"] = exc_type.__name__
        fields["message"] = str(exc)
        fields["has_traceback"] = tb is not None
    elif name == "process_stopping":
        sys.stderr.write("pymodule_app[%s]: process_stopping reason=%s detail=%s\n"
                         % (pyhost.application_group, event["reason"], event["detail"]))
        sys.stderr.flush()
    with events_lock:
        events.append((name, fields))


def misbehave(name, **event):
    """A callback that raises for the requests to /bad-callback, at their start and end."""
    if name == "request_started" and event["environ"]["PATH_INFO"] == "/bad-callback":
        bad_requests.add(event["request_id"])
        raise RuntimeError("callback failure at the start")
    if name == "request_finished" and event["request_id"] in bad_requests:
        raise RuntimeError("callback failure at the end")


pyhost.subscribe_events(misbehave)


def facts(environ):
    seen = {}
    t = threading.Thread(target=lambda: seen.setdefault("id", pyhost.request_id()))
    t.start()
    t.join()
    return {
        "process_group": pyhost.process_group,
        "application_group": pyhost.application_group,
        "gil_mode": pyhost.gil_mode,
        "threads_per_process": pyhost.threads_per_process,
        "maximum_processes": pyhost.maximum_processes,
        "request_id": pyhost.request_id(),
        "environ_request_id": environ["pyhost.request_id"],
        "other_thread_request_id": seen["id"],
        "module_file": getattr(pyhost, "__file__", None),
    }


def respond(start_response, status, obj):
    body = json.dumps(obj).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/facts":
        return respond(start_response, "200 OK", facts(environ))
    if path == "/metrics":
        return respond(start_response, "200 OK", {"process": pyhost.process_metrics(),
                                                  "interval": pyhost.request_metrics()})
    if path == "/events":
        with events_lock:
            return respond(start_response, "200 OK", events)
    if path == "/spin":
        end = time.monotonic() + float(environ["QUERY_STRING"])
        while time.monotonic() < end:  # pure Python: a RequestTimeout can land here
            pass
        return respond(start_response, "200 OK", {"spun": True})
    if path.startswith("/raise"):
        raise ValueError("boom")
    if path == "/stream":
        start_response("201 Created", [("Content-Type", "text/plain")])
        return (b"chunk %d\n" % i for i in range(3))
    return respond(start_response, "200 OK", {"path": path})
