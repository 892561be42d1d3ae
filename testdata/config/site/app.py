"""The app that testdata/config/*.toml mount: says which mount, process and interpreter answered
(each interpreter has its own sys.modules)."""
import os
import sys


def _answer(name, environ, start_response):
    body = "%s script_name=%s pid=%d interpreter=%x multithread=%s multiprocess=%s\n" % (
        name, environ.get("SCRIPT_NAME", ""), os.getpid(), id(sys.modules),
        environ["wsgi.multithread"], environ["wsgi.multiprocess"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def application(environ, start_response):
    return _answer("site", environ, start_response)


def api(environ, start_response):
    return _answer("api", environ, start_response)
