# Free-threaded builds: an app that silences warnings and then, as it is imported, loads an
# extension module without free-threading support (CPython's _testsinglephase_check_cache_first,
# see gil_lazy.py): the GIL goes back on with no RuntimeWarning shown.
import warnings

from gil_lazy import load_extension

warnings.simplefilter("ignore")
load_extension("_testsinglephase_check_cache_first", "_testsinglephase")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"loaded\n"]
