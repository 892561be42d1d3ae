# The helper module of the broken app (copied to retry_helper.py).
VERSION = "one"
