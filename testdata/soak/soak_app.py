"""Soak app (scripts/bench/soak.sh and the short soak check in make test): the everyday mix of
a Flask site, one route per kind of response, so that a leak in any of the server's paths shows
as resident memory that keeps growing. Served as a script by pyhost and imported as module
soak_app by gunicorn (callable `application`).

  GET  /page          a page rendered from a Jinja template (templates/page.html)
  GET  /json          a JSON document
  GET  /stream?n=N    a streamed response: N chunks of 1 KiB from a generator (default 64);
                      the load generator also asks for a long one and leaves after the first
                      chunk, so the server must notice the gone client and close the generator
  GET  /error         raises; PROPAGATE_EXCEPTIONS hands the exception to the server, which
                      must answer 500 (the server's own error path, not Flask's)
  POST /upload        reads the whole body (the load generator sends 64 KiB) and answers its
                      length and CRC-32
  GET  /file          this file through wsgi.file_wrapper

SOAK_LEAK_BYTES=N (environment) makes every request keep N bytes forever: the deliberate leak
that proves the soak check fails when memory grows.
"""

import os
import zlib

from flask import Flask, Response, jsonify, render_template, request

HERE = os.path.dirname(os.path.realpath(__file__))
FILE = os.path.realpath(__file__)
CHUNK = b"s" * 1023 + b"\n"

# root_path given explicitly: pyhost loads the file under a generated module name that Flask
# could not map back to this folder.
app = Flask(__name__, root_path=HERE, template_folder="templates")
app.config["PROPAGATE_EXCEPTIONS"] = True

LEAK_BYTES = int(os.environ.get("SOAK_LEAK_BYTES", "0") or "0")
_kept = []  # what the deliberate leak keeps

if LEAK_BYTES > 0:

    @app.before_request
    def leak():
        _kept.append(bytearray(LEAK_BYTES))


ITEMS = [
    {"sku": f"SK-{i:04d}", "name": f"Item {i}", "price": 3.5 + i * 1.25, "stock": (i * 7) % 11}
    for i in range(24)
]


@app.get("/page")
def page():
    return render_template(
        "page.html",
        title="Soak",
        items=ITEMS,
        in_stock=sum(1 for it in ITEMS if it["stock"] > 0),
        visitor=request.args.get("who", "guest"),
    )


@app.get("/json")
def json_doc():
    return jsonify(items=ITEMS[:8], total=len(ITEMS), path=request.path, ok=True)


@app.get("/stream")
def stream():
    n = min(request.args.get("n", 64, type=int), 1 << 20)

    def chunks():
        for _ in range(n):
            yield CHUNK

    return Response(chunks(), mimetype="text/plain")


@app.get("/error")
def error():
    raise RuntimeError("soak: deliberate failure, the server must answer 500")


@app.post("/upload")
def upload():
    body = request.get_data(cache=False)
    return jsonify(length=len(body), crc32=zlib.crc32(body))


@app.get("/file")
def file():
    wrapper = request.environ["wsgi.file_wrapper"]
    f = open(FILE, "rb")
    size = os.fstat(f.fileno()).st_size
    # direct_passthrough: Werkzeug hands the wrapper to the server untouched, so the server
    # sees its own file_wrapper (and may send the file with sendfile).
    return Response(
        wrapper(f, 8192),
        mimetype="text/plain",
        headers={"Content-Length": str(size)},
        direct_passthrough=True,
    )


application = app
