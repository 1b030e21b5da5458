"""Webhook attacks: internal targets (SSRF), redirects, slow answers, replayed signatures.

The test settings allow plain http and loopback (the receiver fixture listens on 127.0.0.1);
every test here that shows a refusal first takes that allowance away.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from alerts.backends import outbound
from alerts.backends.webhook import (
    NOTIFICATION_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookBackend,
    sign,
    verify,
)
from alerts.models import Notification, NotificationChannel, NotificationDelivery
from tests.alerts.conftest import WebhookReceiver
from tests.support.redis_process import free_port

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


def channel(url: str) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=f"hook-{url}"[:100],
        backend="alerts.backends.webhook.WebhookBackend",
        url=url,
        secret=SECRET,
    )


def notification() -> Notification:
    return Notification.objects.create(
        kind="claimed",
        queue="orders",
        severity="warn",
        title="[StreamWarden] warn: 1 message claimed on orders",
        payload={"kind": "claimed", "queue": "orders", "count": 1},
    )


def deliver(url: str) -> NotificationDelivery:
    return WebhookBackend(channel(url)).send(notification())


def form_errors(url: str) -> dict[str, list[str]]:
    candidate = NotificationChannel(
        name="candidate",
        backend="alerts.backends.webhook.WebhookBackend",
        url=url,
        secret=SECRET,
    )
    try:
        candidate.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.fixture
def no_internal_targets(settings):
    settings.STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS = []
    # A refused target must not be tried at all; should it be, fail fast instead of waiting.
    settings.STREAMWARDEN_WEBHOOK_TIMEOUT = 0.5


# -- SSRF: internal targets ---------------------------------------------------------------------


def test_a_loopback_target_is_refused_when_loopback_is_not_allowed(
    webhook_receiver, no_internal_targets
):
    delivery = deliver(webhook_receiver.url)

    assert not delivery.ok
    assert "not allowed" in delivery.error
    assert webhook_receiver.received == []
    assert "not allowed" in form_errors(webhook_receiver.url)["url"][0]


def test_a_host_name_that_resolves_to_loopback_is_refused(webhook_receiver, no_internal_targets):
    delivery = deliver(f"http://localhost:{webhook_receiver.port}/hook")

    assert not delivery.ok
    assert "not allowed" in delivery.error
    assert webhook_receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.1.2.3/",  # private
        "http://192.168.1.1/",
        "http://0.0.0.0:{port}/hook",  # "this host": reaches local services on Linux
        "http://[::1]:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped loopback
        "http://2130706433:{port}/hook",  # 127.0.0.1 written as one number
    ],
)
def test_internal_targets_are_refused(url, webhook_receiver, no_internal_targets):
    url = url.format(port=webhook_receiver.port)

    delivery = deliver(url)

    assert not delivery.ok
    assert "not allowed" in delivery.error, delivery.error
    assert webhook_receiver.received == []


def test_an_explicitly_allowed_network_is_reached(webhook_receiver, settings):
    settings.STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"

    delivery = deliver(webhook_receiver.url)

    assert delivery.ok, delivery.error
    assert len(webhook_receiver.received) == 1
    assert form_errors(webhook_receiver.url) == {}


def test_plain_http_is_refused_unless_allowed(webhook_receiver, settings):
    settings.STREAMWARDEN_WEBHOOK_ALLOW_HTTP = False

    delivery = deliver(webhook_receiver.url)

    assert not delivery.ok
    assert "https" in delivery.error
    assert webhook_receiver.received == []
    assert "https" in form_errors(webhook_receiver.url)["url"][0]


# -- redirects ----------------------------------------------------------------------------------


@pytest.fixture
def second_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def test_a_redirect_is_not_followed(webhook_receiver, second_receiver):
    # The target answers 302 to another host: following it would send the signed request
    # (as a GET, with the signature headers) wherever the target likes.
    webhook_receiver.redirect_to = second_receiver.url

    delivery = deliver(webhook_receiver.url)

    assert not delivery.ok
    assert delivery.status_code == 302
    assert "redirect" in delivery.error
    assert len(webhook_receiver.received) == 1
    assert second_receiver.received == []


# -- an overall deadline ------------------------------------------------------------------------


def _read_request(conn: socket.socket) -> None:
    """Read one whole request (headers and body), so the answer is not cut by a reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


class DripServer:
    """Answers every request one header byte at a time, each well within a socket timeout."""

    def __init__(self, seconds: float) -> None:
        self.port = free_port()
        self.seconds = seconds
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    _read_request(conn)
                    conn.sendall(b"HTTP/1.1 204 No Content\r\nX-Drip: ")
                    end = time.monotonic() + self.seconds
                    while time.monotonic() < end and not self.stopped.wait(0.2):
                        conn.sendall(b"x")
                    conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass  # the client gave up: what the deadline is for

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def drip_server() -> Iterator[DripServer]:
    server = DripServer(seconds=15)
    yield server
    server.stop()


def test_a_target_that_drips_its_answer_is_cut_off_at_the_overall_deadline(drip_server, settings):
    settings.STREAMWARDEN_WEBHOOK_TIMEOUT = 1

    delivery = deliver(f"http://127.0.0.1:{drip_server.port}/hook")

    assert not delivery.ok
    assert "timed out" in delivery.error


# -- signatures that cannot be replayed ---------------------------------------------------------


def test_a_request_carries_its_timestamp_and_notification_id_under_the_signature(
    webhook_receiver,
):
    sent = notification()
    WebhookBackend(channel(webhook_receiver.url)).send(sent)

    hit = webhook_receiver.received[0]
    timestamp = hit.headers[TIMESTAMP_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    assert hit.headers[NOTIFICATION_HEADER] == str(sent.pk)
    assert json.loads(hit.body)["notification_id"] == sent.pk
    assert verify(hit.body, SECRET, hit.headers[SIGNATURE_HEADER], timestamp)
    assert not verify(hit.body, "wrong-secret", hit.headers[SIGNATURE_HEADER], timestamp)


def test_a_captured_request_replayed_later_is_rejected(webhook_receiver):
    WebhookBackend(channel(webhook_receiver.url)).send(notification())
    hit = webhook_receiver.received[0]
    body, signature = hit.body, hit.headers[SIGNATURE_HEADER]
    timestamp = hit.headers[TIMESTAMP_HEADER]

    # Replayed ten minutes later with its own headers: stale.
    assert not verify(body, SECRET, signature, timestamp, now=int(timestamp) + 600)
    # Replayed with a fresh timestamp header: the signature no longer matches.
    assert not verify(body, SECRET, signature, str(int(timestamp) + 30))
    # Within the tolerance it is accepted (receivers dedupe on the signed notification_id).
    assert verify(body, SECRET, signature, timestamp, now=int(timestamp) + 60)


@pytest.mark.parametrize("timestamp", ["", "abc", "1e9", "-5", " 12", None])
def test_verify_refuses_a_malformed_timestamp(timestamp):
    body = b"{}"
    assert not verify(body, SECRET, sign(body, SECRET, "12"), timestamp, now=12)


def test_a_bad_allowed_network_is_reported_by_a_system_check(settings):
    from alerts.checks import check_webhook_networks

    settings.STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS = "10.0.0.0/8, intranet"

    errors = check_webhook_networks()

    assert [e.id for e in errors] == ["alerts.E004"]
    assert "intranet" in errors[0].msg


# -- https: the certificate is checked against the URL's host, not the checked address --------


@pytest.fixture
def certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for ``localhost`` (and its key), made with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def https_receiver(certificate) -> Iterator[WebhookReceiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    receiver = WebhookReceiver(tls=context).start()
    yield receiver
    receiver.stop()


def test_an_https_target_with_an_untrusted_certificate_is_refused(https_receiver):
    delivery = deliver(f"https://localhost:{https_receiver.port}/hook")

    assert not delivery.ok
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert https_receiver.received == []


def test_an_https_target_is_reached_with_its_host_name_verified(
    https_receiver, certificate, monkeypatch, settings
):
    settings.STREAMWARDEN_WEBHOOK_ALLOW_HTTP = False
    trusting = ssl.create_default_context(cafile=certificate[0])
    monkeypatch.setattr(outbound._PinnedHTTPSConnection, "_context", trusting)

    ok = deliver(f"https://localhost:{https_receiver.port}/hook")
    # The same server by address: its certificate does not name 127.0.0.1.
    mismatch = deliver(f"https://127.0.0.1:{https_receiver.port}/hook")

    assert ok.ok, ok.error
    assert https_receiver.received[0].headers["Host"] == f"localhost:{https_receiver.port}"
    assert not mismatch.ok
    assert "CERTIFICATE_VERIFY_FAILED" in mismatch.error or "match" in mismatch.error
    assert len(https_receiver.received) == 1
