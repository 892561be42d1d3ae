# Reports what this interpreter holds, and optionally sets a module global and a sys attribute:
# the application-group tests read it from several groups to see what is shared and what not.
import json
import sys
from urllib.parse import parse_qs

value = None
requests = 0


def application(environ, start_response):
    global value, requests
    requests += 1
    q = parse_qs(environ.get("QUERY_STRING", ""))
    if "set" in q:
        value = q["set"][0]
        sys.pyhost_marker = value
    body = json.dumps({
        "value": value,
        "sys_marker": getattr(sys, "pyhost_marker", None),
        "interp": id(sys),  # sys is per interpreter, so its address names the interpreter
        "requests": requests,
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
        "gil": sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
        "multithread": environ["wsgi.multithread"],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
