"""wsgi_body.py APP_FILE: writes to stdout the body that APP_FILE's `application` answers to
GET /, by calling it in this process (no server). peers.sh compares every server's answer with
this, so a server that serves something else (an error page, another app) fails loudly before
it is measured. Exits 1 when the app does not answer 200."""

import importlib.util
import io
import sys
from wsgiref.util import setup_testing_defaults


def main(path):
    spec = importlib.util.spec_from_file_location("bench_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    environ = {"SERVER_NAME": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "wsgi.errors": io.StringIO()}
    setup_testing_defaults(environ)
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    result = module.application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not status or not status[0].startswith("200"):
        sys.exit("wsgi_body.py: %s answered %r to GET /, not 200" % (path, status))
    sys.stdout.buffer.write(body)


if __name__ == "__main__":
    main(sys.argv[1])
