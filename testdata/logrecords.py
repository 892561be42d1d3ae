# The log records tests' app (pyhost/logrecords_test.go): a Flask app whose every way of
# writing to the error output must come out as whole records of pyhost's log, Python
# logging's level kept. /raise raises in a view (Flask logs it, traceback and all, through
# app.logger to wsgi.errors); /log logs through app.logger at every level, with multi-line
# messages; /print writes several lines in one print() to sys.stderr and in one write() to
# wsgi.errors; /print_exc prints a traceback with traceback.print_exc() (which writes it a
# frame at a time); /lastresort logs through a logger nobody configured (logging's last
# resort handler, on sys.stderr); /warn warns (warnings writes to sys.stderr); /bytes writes
# to sys.stderr.buffer; /thread logs from a thread of the app (no request id).
import logging
import sys
import threading
import traceback
import warnings

from flask import Flask

print("import-time line one\nimport-time line two", file=sys.stderr)

app = Flask(__name__)
app.logger.setLevel(logging.DEBUG)
application = app


@app.route("/raise")
def raises():
    raise RuntimeError("raised in a view\nwith a second line")


@app.route("/log")
def log():
    app.logger.debug("debug from flask")
    app.logger.info("info from flask")
    app.logger.warning("warning from flask")
    app.logger.error("error from flask\nits second line")
    app.logger.critical("critical from flask")
    return "logged"


@app.route("/print")
def prints():
    print("printed one\nprinted two\nprinted three", file=sys.stderr)
    from flask import request
    request.environ["wsgi.errors"].write("errors one\nerrors two\n")
    return "printed"


@app.route("/print_exc")
def print_exc():
    try:
        {}["missing key"]
    except KeyError:
        traceback.print_exc()
    return "printed"


@app.route("/lastresort")
def lastresort():
    logging.getLogger("logrecords.unconfigured").warning("from the last resort\nsecond")
    return "logged"


@app.route("/warn")
def warn():
    warnings.warn("a warning of the app", UserWarning)
    return "warned"


@app.route("/bytes")
def as_bytes():
    sys.stderr.buffer.write(b"bytes one\nbytes two\n")
    return "written"


def _thread_logs():
    logging.getLogger("logrecords.thread").error("error from a thread of the app")


@app.route("/thread")
def thread():
    t = threading.Thread(target=_thread_logs)
    t.start()
    t.join()
    return "logged"
