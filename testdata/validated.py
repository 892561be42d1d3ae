# The pep3333 test app behind wsgiref.validate.validator, which asserts PEP 3333 on both sides:
# what the server hands the app and how the server treats what the app returns.
import os
import sys
from wsgiref.validate import validator

sys.path.insert(0, os.path.dirname(__file__))
import pep3333  # noqa: E402




application = validator(pep3333.application)
