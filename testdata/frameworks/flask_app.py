"""Flask app for pyhost/frameworks_test.go (served as a script: callable `application`)."""

from flask import Flask, Response, redirect, request, stream_with_context

import fwcommon

app = Flask(__name__)


@app.get("/")
def index():
    return Response("index flask\n", mimetype="text/plain")


@app.get("/hello/<name>")
def hello(name):
    return Response("hello %s\n" % name, mimetype="text/plain")


@app.get("/query")
def query():
    return Response(fwcommon.dumps(request.args.to_dict(flat=False)), mimetype="application/json")


@app.get("/cookie/set")
def cookie_set():
    resp = Response("cookie set\n", mimetype="text/plain")
    resp.set_cookie("flavor", "chocolate-chip", path="/")
    return resp


@app.get("/cookie/get")
def cookie_get():
    return Response(fwcommon.dumps({"flavor": request.cookies.get("flavor")}),
                    mimetype="application/json")


@app.get("/redirect")
def go_elsewhere():
    return redirect("/hello/redirected", code=302)


@app.get("/error")
def error():
    raise RuntimeError("boom from flask")


@app.post("/form")
def form():
    return Response(fwcommon.dumps(request.form.to_dict(flat=False)), mimetype="application/json")


@app.post("/upload")
def upload():
    f = request.files["file"]
    digest, size = fwcommon.sha256_stream(f.stream)
    return Response(fwcommon.dumps({"sha256": digest, "size": size, "filename": f.filename,
                                    "note": request.form.get("note")}),
                    mimetype="application/json")


@app.get("/stream")
def stream():
    n = request.args.get("n", 10, type=int)

    def gen():
        # stream_with_context keeps `request` usable inside the generator.
        yield "streaming %s\n" % request.path
        yield from fwcommon.stream_chunks(n)

    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.get("/stream/gated")
def stream_gated():
    return Response(fwcommon.gated_chunks(request.args["key"]), mimetype="text/plain")


@app.get("/gate/release")
def gate_release():
    return Response(fwcommon.release(request.args["key"]), mimetype="text/plain")


application = app
