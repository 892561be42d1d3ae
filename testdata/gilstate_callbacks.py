# C code that calls back into Python through PyGILState_Ensure: a sqlite3 user function and a
# ctypes callback (libc's qsort with a Python comparator). Each request reports which
# interpreter it ran in and which interpreter each callback ran in; the PyGILState tests
# compare them for every application group and GIL mode.
import ctypes
import json
import sqlite3

try:
    import _interpreters as _interp  # 3.13+
except ImportError:
    import _xxsubinterpreters as _interp  # 3.11, 3.12


def current_interpreter():
    cur = _interp.get_current()
    return int(cur[0] if isinstance(cur, tuple) else cur)


def via_sqlite():
    seen = []

    def probe(x):
        seen.append(current_interpreter())
        return x

    conn = sqlite3.connect(":memory:")
    try:
        conn.create_function("probe", 1, probe)
        conn.execute("SELECT probe(1), probe(2)").fetchall()
    finally:
        conn.close()
    return seen


_COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                            ctypes.POINTER(ctypes.c_int))
_libc = ctypes.CDLL(None)


def via_ctypes():
    seen = []

    def compare(a, b):
        seen.append(current_interpreter())
        return a[0] - b[0]

    numbers = (ctypes.c_int * 4)(3, 1, 4, 2)
    _libc.qsort(numbers, len(numbers), ctypes.sizeof(ctypes.c_int), _COMPARE(compare))
    assert list(numbers) == [1, 2, 3, 4], list(numbers)
    return seen


def application(environ, start_response):
    body = json.dumps({
        "interp": current_interpreter(),
        "sqlite": via_sqlite(),
        "ctypes": via_ctypes(),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
