"""A tiny webhook receiver on a loopback port that keeps every request's raw headers and body."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers.get("X-GitHub-Event", "")

    @property
    def guid(self) -> str:
        return self.headers.get("X-GitHub-Delivery", "")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender that gave up (GitHub's timeout) is expected here, not an error."""


@dataclass
class WebhookReceiver:
    status: int = 202  # what the receiver answers; tests may switch it to 500
    delay: float = 0.0  # seconds to wait before answering (to provoke GitHub's timeout)
    hold: threading.Event | None = None  # when set, requests wait for it (at most 30 s) to answer
    trickle: float = 0.0  # send the answer's body a byte at a time over this many seconds
    received: list[Received] = field(default_factory=list)
    _server: _QuietServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                body = b"ok" * max(int(receiver.trickle * 20), 1)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not receiver.trickle:
                    self.wfile.write(body)
                    return
                for n in range(0, len(body), 2):
                    self.wfile.write(body[n : n + 2])
                    self.wfile.flush()
                    time.sleep(0.05)

            def log_message(self, format: str, *args: object) -> None:
                return  # keep test output clean

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def events(self, event: str, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.event == event and (path is None or r.path == path)]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
