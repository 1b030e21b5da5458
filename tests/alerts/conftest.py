"""Fixtures of the alerts tests: a real HTTP receiver on loopback and a running notifier."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.backends import locmem
from alerts.notifier import Notifier
from tests.support.redis_process import free_port


@pytest.fixture(autouse=True)
def _dashboard_uses_test_redis(django_redis: str) -> str:
    return django_redis


@pytest.fixture(autouse=True)
def _empty_locmem_outbox() -> Iterator[None]:
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@dataclass
class Received:
    path: str
    headers: Message  # case-insensitive, as HTTP headers are
    body: bytes
    method: str = "POST"

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records POSTs; stop() / start() simulate downtime."""

    port: int = field(default_factory=free_port)
    status: int = 204
    #: When set, every request is answered ``302 Found`` to this URL (a redirecting target).
    redirect_to: str | None = None
    #: When set, the receiver speaks https with this server context (url says https://).
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(Received(self.path, self.headers, body, self.command))
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            # A redirected POST may come back as a GET: record it too.
            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


class NotifierThread:
    """``manage.py notifier``'s loop in a thread of the test process (shares the test DB)."""

    def __init__(self) -> None:
        self.notifier: Notifier | None = None
        self.thread: threading.Thread | None = None

    def start(self, name: str = "test-notifier") -> None:
        self.notifier = Notifier(name=name, tick=0.1, block_ms=100, handle_signals=False)
        self.thread = threading.Thread(target=self.notifier.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.notifier is not None and self.thread is not None:
            self.notifier.stop()
            self.thread.join(15)
            assert not self.thread.is_alive(), "notifier did not stop"
        self.notifier = self.thread = None


@pytest.fixture
def notifier(settings) -> Iterator[NotifierThread]:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 0.5
    settings.STREAMWARDEN_NOTIFY_BACKOFF = (0.2, 1.0)
    runner = NotifierThread()
    runner.start()
    yield runner
    runner.stop()
