# The fixed version of app_broken.py: it answers with what the helper says.
import retry_helper


def application(environ, start_response):
    body = ("helper says %s\n" % retry_helper.VERSION).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
