# An app for the process-group tests: it reports, as JSON, what identifies the process and
# the group it runs in, and the environ facts that the supervisor's router must pass on.
import json
import os

try:
    import pyhost
except ImportError:
    pyhost = None


def application(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        # /echo: the body back, in pieces of 64 KiB without a length (a streamed response)
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body[i:i + 65536] for i in range(0, len(body), 65536)]
    keys = ("wsgi.multiprocess", "wsgi.multithread", "REMOTE_ADDR", "REMOTE_PORT",
            "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO",
            "pyhost.process_group", "pyhost.application_group")
    facts = {k: environ.get(k) for k in keys}
    facts.update({
        "pid": os.getpid(),
        "uid": os.getuid(),
        "module": {name: getattr(pyhost, name, None) for name in
                   ("process_group", "application_group", "maximum_processes",
                    "threads_per_process")},
        # headers only pyhost's router may set: the app must never see them
        "router_headers": sorted(k for k in environ if k.startswith("HTTP_PYHOST")),
    })
    body = json.dumps(facts).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
