# Imports a module that exists only in the virtualenv given with --python-home.
import sys

import venv_only_module


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s prefix=%s" % (venv_only_module.MESSAGE, sys.prefix)).encode()]
