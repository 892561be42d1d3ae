# The broken version of a mounted app (TestMountLoadIsRetried copies it to app.py): its own
# helper module imports fine, then the import fails. The fixed version needs the helper's
# fixed version too, so a retry that kept the half-imported helper in sys.modules shows.
import retry_helper  # noqa: F401

raise RuntimeError("app.py is broken on purpose (the test fixes it)")
