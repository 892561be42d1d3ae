# An app for the metrics tests: /status/CODE answers with that status; every request reads
# its body and answers with its length, so both byte counters move.
def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    code = 200
    if path.startswith("/status/"):
        code = int(path[len("/status/"):])
    body = environ["wsgi.input"].read()
    out = b"%d bytes\n" % len(body)
    start_response("%d Status" % code, [("Content-Type", "text/plain"),
                                        ("Content-Length", str(len(out)))])
    return [out]
