"""Bottle app for pyhost/frameworks_test.go (served as a script: callable `application`)."""

import bottle
from bottle import redirect, request, response

import fwcommon

app = bottle.Bottle()


@app.get("/")
def index():
    response.content_type = "text/plain"
    return "index bottle\n"


@app.get("/hello/<name>")
def hello(name):
    response.content_type = "text/plain"
    return "hello %s\n" % name


def _lists(forms):
    # Bottle hands out latin-1 "native strings"; decode() re-reads them as UTF-8.
    d = forms.decode()
    return {k: d.getall(k) for k in d.keys()}


@app.get("/query")
def query():
    response.content_type = "application/json"
    return fwcommon.dumps(_lists(request.query))


@app.get("/cookie/set")
def cookie_set():
    response.set_cookie("flavor", "chocolate-chip", path="/")
    response.content_type = "text/plain"
    return "cookie set\n"


@app.get("/cookie/get")
def cookie_get():
    response.content_type = "application/json"
    return fwcommon.dumps({"flavor": request.get_cookie("flavor")})


@app.get("/redirect")
def go_elsewhere():
    redirect("/hello/redirected")  # 303 on HTTP/1.1, 302 on 1.0


@app.get("/error")
def error():
    raise RuntimeError("boom from bottle")


@app.post("/form")
def form():
    response.content_type = "application/json"
    return fwcommon.dumps(_lists(request.forms))


@app.post("/upload")
def upload():
    f = request.files.get("file")
    digest, size = fwcommon.sha256_stream(f.file)
    response.content_type = "application/json"
    return fwcommon.dumps({"sha256": digest, "size": size, "filename": f.raw_filename,
                           "note": request.forms.getunicode("note")})


@app.get("/stream")
def stream():
    n = int(request.query.get("n", 10))
    response.content_type = "text/plain"

    def gen():
        yield "streaming /stream\n"
        yield from fwcommon.stream_chunks(n)

    return gen()


@app.get("/stream/gated")
def stream_gated():
    response.content_type = "text/plain"
    return fwcommon.gated_chunks(request.query["key"])


@app.get("/gate/release")
def gate_release():
    response.content_type = "text/plain"
    return fwcommon.release(request.query["key"])


application = app
