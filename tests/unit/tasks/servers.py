"""Local test servers on 127.0.0.1: a debugging SMTP sink and a webhook receiver that checks the HMAC.

Both run in-process on a background thread and record what they accepted, so a test can say a
notification arrived exactly once.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.tasks import notify


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _say(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        server: SmtpSink = self.server  # type: ignore[assignment]
        self._say("220 sink ESMTP")
        in_data, lines, sender, rcpts = False, [], "", []  # type: ignore[var-annotated]
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if in_data:
                if line in (b".\r\n", b".\n"):
                    server.messages.append({"from": sender, "to": list(rcpts), "data": b"".join(lines)})
                    in_data, lines = False, []
                    self._say("250 queued")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            cmd = line.decode(errors="replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif up.startswith("HELO"):
                self._say("250 sink")
            elif up.startswith("MAIL FROM:"):
                sender, rcpts = cmd[10:].strip(), []
                self._say("250 ok")
            elif up.startswith("RCPT TO:"):
                rcpts.append(cmd[8:].strip())
                self._say("250 ok")
            elif up == "DATA":
                in_data = True
                self._say("354 end with .")
            elif up == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[dict[str, Any]] = []


@dataclass
class WebhookLog:
    secret: bytes
    fail_first: bool = True
    seen: dict[str, int] = field(default_factory=dict)  # delivery id -> requests received
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _hook_handler(log: WebhookLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            delivery = self.headers.get(notify.DELIVERY_HEADER, "")
            with log.lock:
                if not notify.verify_signature(body, log.secret, self.headers.get(notify.SIGNATURE_HEADER)):
                    log.bad_signatures += 1
                    status = 401
                else:
                    log.seen[delivery] = log.seen.get(delivery, 0) + 1
                    if log.fail_first and log.seen[delivery] == 1:
                        status = 503  # the first delivery of every notification fails
                    elif any(a["id"] == delivery for a in log.accepted):
                        status = 200  # a duplicate is acknowledged but not processed again
                    else:
                        log.accepted.append(json.loads(body))
                        status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_receiver(secret: bytes, *, fail_first: bool = True) -> Iterator[tuple[str, WebhookLog]]:
    log = WebhookLog(secret=secret, fail_first=fail_first)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _hook_handler(log))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/vigil", log
    finally:
        server.shutdown()
        server.server_close()
