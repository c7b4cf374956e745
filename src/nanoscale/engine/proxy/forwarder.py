"""A loopback TCP forwarder: one stable port in front of a release port that changes.

Without Caddy, a project still keeps one address across redeploys and rollbacks: its own
port (the project's `port`) forwards each new connection to the live release. A switch only
changes where NEW connections go; connections already open stay with the old release until
they end (the pipeline drains before stopping it), so a switch drops nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading

CONNECT_TIMEOUT = 10.0
CHUNK = 65536


class Forwarder:
    def __init__(self, port: int, target: int) -> None:
        """Raises OSError when `port` cannot be bound (e.g. in use)."""
        self.port = port
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._thread.join()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            target = self.target  # read once: this connection stays with this release
            threading.Thread(target=self._serve, args=(client, target), daemon=True).start()

    def _serve(self, client: socket.socket, target: int) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", target), timeout=CONNECT_TIMEOUT)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        with self._lock:
            self._open.difference_update((client, upstream))
        client.close()
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until `source` ends, then end `sink`'s writing side (half-close)."""
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
