"""Falcon app for pyhost/frameworks_test.go (served as a script: callable `application`)."""

import falcon

import fwcommon


def _lists(d):
    # Falcon gives a str for a single value and a list for a repeated one.
    return {k: v if isinstance(v, list) else [v] for k, v in d.items()}


class Index:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "index falcon\n"


class Hello:
    def on_get(self, req, resp, name):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "hello %s\n" % name


class Query:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.text = fwcommon.dumps(_lists(req.params))


class CookieSet:
    def on_get(self, req, resp):
        # secure=True is Falcon's default; the test speaks plain HTTP.
        resp.set_cookie("flavor", "chocolate-chip", path="/", secure=False)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "cookie set\n"


class CookieGet:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.text = fwcommon.dumps({"flavor": req.cookies.get("flavor")})


class Redirect:
    def on_get(self, req, resp):
        raise falcon.HTTPFound("/hello/redirected")


class Error:
    def on_get(self, req, resp):
        raise RuntimeError("boom from falcon")


class Form:
    def on_post(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.text = fwcommon.dumps(_lists(req.get_media()))


class Upload:
    def on_post(self, req, resp):
        out = {}
        for part in req.get_media():
            if part.name == "file":
                # part.stream: the part's data is not buffered (get_data() caps at 1 MiB).
                out["sha256"], out["size"] = fwcommon.sha256_stream(part.stream)
                out["filename"] = part.filename
            elif part.name == "note":
                out["note"] = part.get_text()
        resp.content_type = falcon.MEDIA_JSON
        resp.text = fwcommon.dumps(out)


class Stream:
    def on_get(self, req, resp):
        n = req.get_param_as_int("n", default=10)

        def gen():
            yield b"streaming /stream\n"
            for s in fwcommon.stream_chunks(n):
                yield s.encode()

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = gen()


class StreamGated:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = (s.encode() for s in fwcommon.gated_chunks(req.get_param("key", True)))


class GateRelease:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = fwcommon.release(req.get_param("key", True))


app = falcon.App()
app.add_route("/", Index())
app.add_route("/hello/{name}", Hello())
app.add_route("/query", Query())
app.add_route("/cookie/set", CookieSet())
app.add_route("/cookie/get", CookieGet())
app.add_route("/redirect", Redirect())
app.add_route("/error", Error())
app.add_route("/form", Form())
app.add_route("/upload", Upload())
app.add_route("/stream", Stream())
app.add_route("/stream/gated", StreamGated())
app.add_route("/gate/release", GateRelease())

application = app
