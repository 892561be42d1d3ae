# An app that, like some libraries, installs handlers for the shutdown signals at import.
# Under pyhost they must not take those signals from the server: SIGTERM still stops it.
import signal

caught = []


def _remember(signum, frame):
    caught.append(signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _remember)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as CLI tools do to die quietly on a closed pipe


def application(environ, start_response):
    body = b"handlers installed at import\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
