# sqlite3 connections with a Python function registered on them, as Django's sqlite backend
# registers its own on every connection it opens:
#
# - one opened at import and kept in a threading.local of the thread that loaded the app, as
#   Django keeps the connection its import-time migrate opened. It lives as long as the
#   interpreter: ending the interpreter frees it, and sqlite calls the function's destructor,
#   which re-enters Python through PyGILState_Ensure on the thread that ends the interpreter.
#   The function's __del__ writes to stderr (pyhost's log) which interpreter that was;
# - one per request, used and closed within it (Django closes its connection at the end of
#   every request): the answer is "REQUEST_INTERPRETER FUNCTION_INTERPRETER".
#
# The tests want the interpreter that registered the function, a clean exit and no crash.
import os
import sqlite3
import threading

try:
    import _interpreters as _interp  # 3.13+
except ImportError:
    import _xxsubinterpreters as _interp  # 3.11, 3.12


def current_interpreter():
    cur = _interp.get_current()
    return int(cur[0] if isinstance(cur, tuple) else cur)


HOME = current_interpreter()


class Probe:
    """The registered function: answers the interpreter it runs in."""

    def __call__(self, x):
        return current_interpreter()

    # It runs while the interpreter ends, its modules' globals and builtins already cleared:
    # everything it uses comes in as a default argument (an exception would vanish unseen).
    def __del__(self, _write=os.write, _get=_interp.get_current, _isinstance=isinstance,
                _tuple=tuple, _int=int, _home=HOME):
        try:
            cur = _get()
            where = b"%d" % _int(cur[0] if _isinstance(cur, _tuple) else cur)
        except:  # noqa: E722 - a bare except: looking a name up may fail now
            where = b"(unknown: get_current failed)"
        _write(2, b"sqlite-teardown: the function registered in interpreter %d was freed in "
                  b"interpreter %s\n" % (_home, where))


_kept = threading.local()
_kept.conn = sqlite3.connect(":memory:")
_kept.conn.create_function("probe", 1, Probe())
_kept.conn.execute("SELECT probe(1)").fetchall()


def application(environ, start_response):
    conn = sqlite3.connect(":memory:")
    try:
        conn.create_function("probe", 1, Probe())
        ran_in = conn.execute("SELECT probe(1)").fetchone()[0]
    finally:
        conn.close()
    body = ("%d %d\n" % (current_interpreter(), ran_in)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
