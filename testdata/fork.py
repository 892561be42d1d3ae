# An app that forks inside its requests, as apps do with os.fork() and multiprocessing's fork
# start method. The parent waits for its children and reports how they ended; the children must
# end as they would under plain Python, and never answer the parent's client.
#
#   /fork?child=exit3|exitnone|exitmsg|raise|return|write|sigterm
#       forks; the child ends that way (sigterm: the parent stops it with SIGTERM, which must
#       kill it as it would a plain Python process); the parent answers "child exit status N"
#   /pool?n=N     sum of squares of 0..N-1 computed by a fork-context multiprocessing.Pool(2)
#   /pool-terminate  a fork-context Pool(2) whose workers sleep is terminated (SIGTERM to each
#       worker, as Pool.terminate() and a `with Pool()` block that raises do) and joined; the
#       answer says how long that took (a worker that ignored SIGTERM would hang it)
#   /fork-kill?n=N  forks N children and sends each SIGTERM as soon as os.fork() returns, as
#       Pool.terminate() does to a worker that is still starting; each child sleeps, then exits
#       6. Under plain Python every child dies of the signal however early it comes; the
#       answer counts how the children ended ("killed N" when all did). A child still running
#       10 s after its signal is counted as hung and killed.
#   /             hello
import multiprocessing
import os
import signal
import sys
import time


def square(x):
    return x * x


def nap(x):
    time.sleep(30)
    return x


def _child(how, write, ready):
    if how == "exit3":
        sys.exit(3)
    if how == "exitnone":
        sys.exit()
    if how == "exitmsg":
        sys.exit("child says goodbye")
    if how == "raise":
        raise ValueError("raised in the forked child")
    if how == "write":
        try:
            write(b"from the child\n")
        except OSError as exc:
            print("child write() raised OSError:", exc, file=sys.stderr)
            sys.exit(4)
        sys.exit(5)
    if how == "sigterm":
        os.write(ready, b"x")
        time.sleep(30)
        sys.exit(6)
    # "return": the child goes on as if it were the server and returns a response.


def application(environ, start_response):
    path = environ["PATH_INFO"]
    plain = [("Content-Type", "text/plain")]
    if path == "/fork":
        how = environ["QUERY_STRING"].partition("child=")[2]
        write = start_response("200 OK", plain)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child(how, write, ready_w)
            return [b"the child's response, which no client may see\n"]
        os.close(ready_w)
        if how == "sigterm":
            os.read(ready_r, 1)  # the child runs Python code: it is past the fork
            os.kill(pid, signal.SIGTERM)
        os.close(ready_r)
        _, status = os.waitpid(pid, 0)
        return [b"child exit status %d\n" % os.waitstatus_to_exitcode(status)]
    if path == "/pool":
        n = int(environ["QUERY_STRING"].partition("n=")[2] or 100)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            total = sum(pool.map(square, range(n)))
        start_response("200 OK", plain)
        return [b"%d\n" % total]
    if path == "/pool-terminate":
        pool = multiprocessing.get_context("fork").Pool(2)
        pool.map_async(nap, range(2))
        time.sleep(0.3)  # the workers are inside nap()
        started = time.monotonic()
        pool.terminate()
        pool.join()
        start_response("200 OK", plain)
        return [b"terminated in %.0f s\n" % (time.monotonic() - started)]
    if path == "/fork-kill":
        n = int(environ["QUERY_STRING"].partition("n=")[2] or 20)
        ends = _fork_and_kill(n)
        start_response("200 OK", plain)
        return [" ".join("%s %d" % kv for kv in sorted(ends.items())).encode() + b"\n"]
    start_response("200 OK", plain)
    return [b"Hello, World!\n"]


def _fork_and_kill(n):
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            time.sleep(2)
            os._exit(6)
        os.kill(pid, signal.SIGTERM)
        pids.append(pid)
    ends = {}
    deadline = time.monotonic() + 10
    while pids:
        for pid in list(pids):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                key = "killed" if code == -signal.SIGTERM else "exit%d" % code
                ends[key] = ends.get(key, 0) + 1
                pids.remove(pid)
        if pids and time.monotonic() > deadline:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            ends["hung"] = len(pids)
            break
        time.sleep(0.01)
    return ends
