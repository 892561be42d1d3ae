# The `pyhost` module: what a WSGI app can ask the server it runs in. pyhost makes it in every
# interpreter it serves from (the main one and each sub-interpreter) and puts it in
# sys.modules; no such module exists on sys.path, so outside pyhost `import pyhost` fails as
# any missing module does. This is its Python part, run once per interpreter; pymodule.c adds
# request_id(), _counters(), _set_events() and the constants process_group,
# application_group, gil_mode, threads_per_process and maximum_processes before it runs.
"""What a WSGI app can ask pyhost, the server it runs in.

Constants: process_group, application_group, gil_mode, threads_per_process,
maximum_processes. Functions: request_id(), process_metrics(), request_metrics(),
subscribe_events(callback). See pyhost's README, "The pyhost Python module".
"""
import os
import sys
import time
import _thread
from importlib.machinery import ModuleSpec

from _pyhost import RequestTimeout

__spec__ = ModuleSpec(__name__, None, origin="pyhost")
__all__ = ["process_group", "application_group", "gil_mode", "threads_per_process",
           "maximum_processes", "request_id", "process_metrics", "request_metrics",
           "subscribe_events", "RequestTimeout"]

_lock = _thread.allocate_lock()
# Replaced, never changed in place: the request threads iterate it without the lock.
_callbacks = ()


def subscribe_events(callback):
    """Calls callback(name, **event) for every event of this interpreter from now on:
    request_started (request_id, environ), request_finished (request_id, duration, status,
    gil_wait, outcome), request_exception (request_id, exception_info) and process_stopping
    (reason, detail). Callbacks run in the order they subscribed, on the thread of the request
    (process_stopping: on pyhost's main thread). One that raises is logged and the others still
    run; the request is not affected. Returns callback, so it also works as a decorator."""
    global _callbacks
    if not callable(callback):
        raise TypeError("subscribe_events() needs a callable, got %s" % type(callback).__name__)
    with _lock:
        _callbacks = _callbacks + (callback,)
        _set_events(True)
    return callback


def _log_failure(callback, name, event):
    import traceback
    exc = sys.exc_info()[1]
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    rid = event.get("request_id")
    where = " for request %s" % rid if rid else ""
    sys.stderr.write("pyhost: event callback %r raised on %s%s; pyhost logged it and went "
                     "on (the request and the other callbacks are unaffected; fix the "
                     "callback):\n%s" % (callback, name, where, text))
    sys.stderr.flush()


def _emit(name, event):
    for callback in _callbacks:
        try:
            callback(name, **event)
        except RequestTimeout:
            # The request's deadline passed while a callback ran: the request must unwind.
            raise
        except BaseException:  # noqa: BLE001 - an event callback never breaks a request
            _log_failure(callback, name, event)


def _emit_started(request_id, environ):
    _emit("request_started", {"request_id": request_id, "environ": environ})


def _emit_finished(request_id, duration, status, gil_wait, outcome):
    _emit("request_finished", {"request_id": request_id, "duration": duration,
                               "status": status, "gil_wait": gil_wait, "outcome": outcome})


def _emit_exception(request_id, exc):
    _emit("request_exception", {"request_id": request_id,
                                "exception_info": (type(exc), exc, exc.__traceback__)})


def _emit_stopping(reason, detail):
    _emit("process_stopping", {"reason": reason, "detail": detail})


def _memory():
    """(resident, peak resident) bytes of this process, from /proc (None where unreadable)."""
    rss = peak = None
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, peak


def process_metrics():
    """This process's figures as a dict: its pid and times, the requests counted since
    recording began (request_count, request_busy_time, gil_wait_time, request_exceptions),
    the request threads in use now (active_requests) and in all (request_threads), CPU and
    memory. The first call of process_metrics() or request_metrics() in the process (from any
    interpreter) starts the recording; requests are counted once they end. Times in seconds."""
    since, requests, busy_ns, gil_ns, exceptions, active = _counters()
    now = time.time()
    cpu = os.times()
    rss, peak = _memory()
    return {
        "pid": os.getpid(),
        "start_time": _process_start,
        "current_time": now,
        "running_time": now - _process_start,
        "recording_since": since,
        "request_count": requests,
        "request_busy_time": busy_ns / 1e9,
        "gil_wait_time": gil_ns / 1e9,
        "request_exceptions": exceptions,
        "active_requests": active,
        "request_threads": threads_per_process,
        "cpu_user_time": cpu.user,
        "cpu_system_time": cpu.system,
        "memory_rss": rss,
        "memory_max_rss": peak,
    }


_previous = None  # this interpreter's last request_metrics() sample: (time, counters)


def request_metrics():
    """The figures of the interval since this interpreter's previous call (the first call:
    since recording began) as a dict: start_time, stop_time, sample_period, request_count,
    request_rate (per second), request_busy_time, capacity_utilization (the share of the
    request threads' time spent on requests, 0..1), server_time and gil_wait_time (means per
    request), request_exceptions, active_requests and request_threads. Counts cover the whole
    process (every interpreter); each interpreter keeps its own interval. A request counts in
    the interval in which it ends. Times in seconds."""
    global _previous
    counters = _counters()
    now = time.time()
    with _lock:
        previous, _previous = _previous, (now, counters)
    if previous is None:
        previous = (counters[0], (counters[0], 0, 0, 0, 0, 0))
    start, before = previous
    period = max(now - start, 0.0)
    requests = counters[1] - before[1]
    busy = (counters[2] - before[2]) / 1e9
    gil = (counters[3] - before[3]) / 1e9
    return {
        "start_time": start,
        "stop_time": now,
        "sample_period": period,
        "request_count": requests,
        "request_rate": requests / period if period > 0 else 0.0,
        "request_busy_time": busy,
        "capacity_utilization": busy / (period * threads_per_process) if period > 0 else 0.0,
        "server_time": busy / requests if requests else 0.0,
        "gil_wait_time": gil / requests if requests else 0.0,
        "request_exceptions": counters[4] - before[4],
        "active_requests": counters[5],
        "request_threads": threads_per_process,
    }
