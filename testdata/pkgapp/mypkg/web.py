# A WSGI app inside a package, loaded as mypkg.web:app or through the factory mypkg.web:create().
import os


def _make(label):
    def app(environ, start_response):
        body = ("%s cwd=%s" % (label, os.getcwd())).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    return app


app = _make("module")


def create():
    return _make("factory")
