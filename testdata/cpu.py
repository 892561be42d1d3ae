# A CPU-bound app for the GIL-mode benchmark (scripts/bench/gil-modes): every request spends
# about 1 ms in pure-Python bytecode, holding the GIL the whole time (no I/O, no C helpers that
# release it), so how many requests run at once shows how many cores the server can use.

# Iterations of the loop below: about 1 ms per request with the CPython 3.13 build from
# scripts/build-python.sh (no PGO/LTO) on the 2-core benchmark machine (calibrated at
# 1.02-1.06 ms; the free-threaded 3.13t build takes about 25% longer).
ITERATIONS = 16_000


def work(n):
    """A hash of 0..n-1 modulo 251, so the loop can't be skipped or cached.

    Only small ints (-5..256, immortal) appear as constants: on the free-threaded 3.13t build,
    a shared non-immortal constant such as 0xFFFFFFFF is reference-counted from every thread
    on each iteration, and that contention alone made two threads slower than one.
    """
    h = 0
    for i in range(n):
        h = (h * 31 + i) % 251
    return h


def application(environ, start_response):
    body = b"%d\n" % work(ITERATIONS)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
