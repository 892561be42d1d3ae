# Free-threaded builds: an app that imports, inside a request, an extension module without
# free-threading support, which switches the GIL back on. CPython's test modules hold one under
# another name: _testsinglephase's .so has _testsinglephase_check_cache_first (single-phase
# init, no PyUnstable_Module_SetGIL; the main interpreter only). GET /import?warnings=
# ignore|error sets the warnings filter first (as an app may); the answer is "gil=True" or
# "gil=False", and what the import raised.
import importlib.machinery
import importlib.util
import sys
import warnings
from urllib.parse import parse_qs

def load_extension(name, host):
    """Creates the extension module `name` from the shared object of the module `host`."""
    where = __import__(host).__file__
    loader = importlib.machinery.ExtensionFileLoader(name, where)
    spec = importlib.util.spec_from_file_location(name, where, loader=loader)
    return importlib.util.module_from_spec(spec)


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    raised = ""
    if environ["PATH_INFO"] == "/import":
        if q.get("warnings"):
            warnings.simplefilter(q["warnings"])
        try:
            load_extension("_testsinglephase_check_cache_first", "_testsinglephase")
        except Exception as e:  # "error" turns CPython's RuntimeWarning into this
            raised = " raised=%s" % type(e).__name__
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("gil=%s%s" % (sys._is_gil_enabled(), raised)).encode()]
