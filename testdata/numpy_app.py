# NumPy (Debian's python3-numpy) in the main interpreter, %{GLOBAL}.
import numpy


def application(environ, start_response):
    a = numpy.arange(10)
    body = ("numpy %s sum=%d\n" % (numpy.__version__, int(a.sum()))).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
