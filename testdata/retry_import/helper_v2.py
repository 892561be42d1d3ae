# The helper module of the fixed app (copied to retry_helper.py over helper_v1.py's copy).
VERSION = "two, fixed"
