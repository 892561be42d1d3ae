# A WSGI script that does not compile: a load must fail with the SyntaxError, in any
# application group (--application-group auto must not take it for a placement problem).
def application(environ, start_response)
    start_response("200 OK", [])
    return [b"never\n"]
