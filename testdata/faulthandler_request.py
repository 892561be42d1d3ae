# Enables faulthandler from inside a request, on one of pyhost's request threads. /enable also
# reports whether that thread's alternate signal stack (Go's, which Go's signal handler runs
# on) survived: faulthandler installs its own on the first thread that enables it.
import ctypes
import faulthandler
import json
import sys


class _StackT(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int),
                ("ss_size", ctypes.c_size_t)]


_libc = ctypes.CDLL(None, use_errno=True)


def _signal_stack():
    st = _StackT()
    if _libc.sigaltstack(None, ctypes.byref(st)) != 0:
        raise OSError(ctypes.get_errno(), "sigaltstack")
    return [st.ss_sp or 0, st.ss_flags, st.ss_size]


def application(environ, start_response):
    result = {}
    if environ["PATH_INFO"] == "/enable":
        before = _signal_stack()
        faulthandler.enable(file=sys.stderr)
        result["signal_stack_kept"] = _signal_stack() == before
    elif environ["PATH_INFO"] == "/crash":
        ctypes.string_at(0)  # a real segmentation fault, inside Python code
    result["enabled"] = faulthandler.is_enabled()
    body = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
