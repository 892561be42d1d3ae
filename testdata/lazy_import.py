"""Imports, inside a request, the standard-library module its query string names (logging,
threading, concurrent.futures, socketserver, http.server): libraries commonly import these on
first use, so the first `import threading` of the process happens on a request thread."""
import importlib


def application(environ, start_response):
    name = environ.get("QUERY_STRING") or "logging"
    importlib.import_module(name)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("imported %s\n" % name).encode()]
