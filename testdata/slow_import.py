# An app whose import takes 30 s (a slow connection at import time, say): the
# --startup-timeout test kills its workers before they get ready.
import time

time.sleep(30)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"loaded\n"]
