"""A tiny stdlib-only HTTP app that runtime and proxy tests run as a real release.

Copied into a release's workdir and started with `python3 app.py`. Endpoints:
  /            "<APP_NAME> <pid>"
  /env/<NAME>  the value of an environment variable (404 if unset)
  /spawn       start a grandchild `sleep` (`?setsid=1`: in its own session); returns its pid
  /crash       exit with code 3 at once
  /read?<path> the content of a file, or 403 if the app may not read it
With IGNORE_SIGTERM=1 the app ignores SIGTERM (to prove the SIGKILL escalation).
"""

import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def do_GET(self):
        path, _, query = self.path.partition("?")
        status, body = 200, ""
        if path == "/":
            body = f"{os.environ.get('APP_NAME', 'app')} {os.getpid()}"
        elif path.startswith("/env/"):
            value = os.environ.get(path[len("/env/") :])
            status, body = (404, "unset") if value is None else (200, value)
        elif path == "/spawn":
            child = subprocess.Popen(["sleep", "300"], start_new_session="setsid=1" in query)
            body = str(child.pid)
        elif path == "/read":
            try:
                with open(query) as handle:
                    body = handle.read()
            except PermissionError:
                status, body = 403, "forbidden"
        elif path == "/crash":
            os._exit(3)
        else:
            status, body = 404, "not found"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


def main():
    if os.environ.get("IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = True
    print(f"listening on {os.environ['PORT']}", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
