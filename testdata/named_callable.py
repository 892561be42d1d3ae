# A script whose WSGI callable is not called "application" (served with --callable handler).
import helper_module  # found through --python-path testdata/extra


def handler(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [helper_module.GREETING.encode()]
