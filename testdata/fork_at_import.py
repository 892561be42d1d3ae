# Forks while it is imported; the child carries on with the import, as the parent does, and
# returns into pyhost with it. The parent waits for the child and serves its exit status.
import os

pid = os.fork()
if pid:
    _, status = os.waitpid(pid, 0)
    CHILD_STATUS = os.waitstatus_to_exitcode(status)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"child exit status %d\n" % CHILD_STATUS]
