"""Real HTTP receivers on loopback for the webhook tests: one that answers (with a scripted list
of statuses) and checks every signature as a platform would, one that accepts connections and
never answers, and a port where nothing listens."""

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_is_valid(*, secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """The receiver's check, as docs/webhooks.md shows it: recompute the HMAC of "<t>.<body>" and
    compare in constant time; refuse a timestamp more than five minutes off."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, received = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or not received:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    status_answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["X-Gamification-Delivery"]


class Receiver:
    """``with Receiver(secret, statuses=[500, 500]) as receiver:`` serves ``receiver.url``; each
    POST is answered with the next status of ``statuses`` (then ``default_status``) and recorded
    in ``receiver.received``, with its signature checked."""

    def __init__(self, secret: str, *, statuses: list[int] | None = None, default_status: int = 200, path="/hook"):
        self.secret = secret
        self.statuses = list(statuses or [])
        self.default_status = default_status
        self.path = path
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                    receiver.received.append(
                        Received(
                            path=self.path,
                            headers=dict(self.headers.items()),
                            body=body,
                            signature_valid=signature_is_valid(
                                secret=receiver.secret,
                                header=self.headers.get("X-Gamification-Signature", ""),
                                body=body,
                            ),
                            status_answered=status,
                        )
                    )
                payload = b'{"ok": true}' if status < 300 else b"receiver says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class HungReceiver:
    """A port that accepts connections (the kernel's backlog does) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def __enter__(self) -> "HungReceiver":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/hook"
