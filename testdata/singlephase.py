# Imports CPython's _testsinglephase (built with the test modules), an extension module with
# single-phase init: it loads in the main interpreter and in shared-GIL sub-interpreters, but
# not in an own-GIL sub-interpreter; on a free-threaded build it switches the GIL back on.
import _testsinglephase  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"single-phase module loaded\n"]
