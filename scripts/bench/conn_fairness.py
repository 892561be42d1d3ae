"""conn_fairness.py HOST PORT CONNECTIONS SECONDS [PATH]: how many keep-alive connections a
server answers at all.

Opens CONNECTIONS connections, keeps one GET in flight on each for SECONDS, and prints
"answered CONNS_ANSWERED/CONNECTIONS min MIN max MAX" (responses per connection). A server
whose threads each keep a connection for its whole life (uWSGI --http11-socket) answers only
as many connections as it has threads; the rest wait in the listen queue, and a closed-loop
tool such as wrk then reports latency percentiles over the connections that were served
only, which look better than any server that serves them all. peers.sh prints this beside
the percentiles so that such a row is read for what it is.
"""
import selectors
import socket
import sys
import time


def main():
    host, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    path = sys.argv[5] if len(sys.argv) > 5 else "/"
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()
    sel = selectors.DefaultSelector()
    state = []

    def connect(st):
        """(Re)opens st's connection and sends its request: a server without keep-alive
        closes each connection after one response, and the client then opens the next."""
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        s.sendall(req)
        st["sock"], st["buf"] = s, b""
        sel.register(s, selectors.EVENT_READ, st)

    for i in range(conns):
        st = {"buf": b"", "n": 0, "sock": None}
        state.append(st)
        connect(st)
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(min(left, 0.1)):
            st = key.data
            try:
                data = st["sock"].recv(65536)
                if data:
                    st["buf"] += data
                    while complete(st):
                        st["n"] += 1
                        st["sock"].sendall(req)
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            # Closed (after a response without keep-alive) or reset: the next connection.
            sel.unregister(st["sock"])
            st["sock"].close()
            connect(st)
    counts = [st["n"] for st in state]
    print("answered %d/%d min %d max %d" % (sum(1 for c in counts if c), conns, min(counts), max(counts)))


def complete(st):
    """Takes one whole response off st's buffer; False while it is not all there."""
    buf = st["buf"]
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].lower()
    body = head_end + 4
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            length = int(value.strip())
    if length is not None:
        if len(buf) < body + length:
            return False
        st["buf"] = buf[body + length:]
        return True
    end = buf.find(b"0\r\n\r\n", body)  # chunked (the apps benchmarked here send no trailers)
    if end < 0:
        return False
    st["buf"] = buf[end + 5:]
    return True


if __name__ == "__main__":
    main()
