# A mod_wsgi-style script: the .wsgi suffix, loaded like a .py file.
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from a .wsgi script\n"]
