"""Outbound HTTP for notification backends: which targets may be reached, and one POST to them.

A webhook URL is typed by an admin and the request leaves from inside the network, so it must
not become a way to reach internal services (SSRF). The rules:

- ``https`` only, unless ``STREAMWARDEN_WEBHOOK_ALLOW_HTTP`` is on;
- the host is resolved once, every address it resolves to must be public (not loopback,
  link-local, private, shared, reserved, multicast or unspecified) unless it lies in
  ``STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS``, and the connection goes to the checked address
  (a second lookup could answer differently: DNS rebinding);
- redirects are never followed (a 3xx is a failed attempt);
- one deadline covers connect, send and the whole answer, so a target that drips bytes
  cannot hold a notifier thread longer than the timeout;
- no proxy from the environment is used (it would decide where the request goes).

The host lookup itself uses the system resolver and is not covered by the deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from alerts.exceptions import DeliveryError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(DeliveryError):
    """The target URL is not one the notifier may reach (scheme or address)."""


@dataclass(frozen=True)
class Policy:
    """Which targets are allowed: plain http or not, and internal networks let through."""

    allow_http: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast


def parse_networks(value: str | list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """``"127.0.0.1/32, 10.0.0.0/8"`` or a list of such strings; ValueError names a bad one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in items:
        if not str(item).strip():
            continue
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {item!r} (expected e.g. 10.0.0.0/8)") from exc
    return tuple(networks)


@dataclass(frozen=True)
class Target:
    """A checked target: connect to ``address``, but speak to ``host`` (Host header, TLS)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def origin(self) -> str:
        """``scheme://host:port`` for messages: never the path or query, which may hold tokens."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def check_url(url: str, policy: Policy) -> str | None:
    """Why ``url`` is refused without a lookup (scheme, literal address), or None.

    For the admin form: a host name is only checked when the request is made.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        return (
            "the target must be an https:// URL (plain http is allowed only with "
            "STREAMWARDEN_WEBHOOK_ALLOW_HTTP)."
        )
    if not host:
        return "the URL has no host."
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            literal = ipaddress.ip_address("127.0.0.1")
        else:
            return None
    if not policy.address_allowed(literal):
        return _refusal(host)
    return None


def _refusal(host: str) -> str:
    return (
        f"{host} is an internal address, not allowed as a notification target; "
        "allow its network in STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS if it is meant."
    )


def resolve(url: str, policy: Policy) -> Target:
    """The checked target of ``url``: TargetRefused unless every resolved address is allowed."""
    problem = check_url(url, policy)
    if problem:
        raise TargetRefused(problem)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not policy.address_allowed(ipaddress.ip_address(address.split("%", 1)[0])):
            raise TargetRefused(_refusal(f"{host} ({address})" if address != host else host))
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; abort() closes the socket from another thread."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address
        self._aborted = threading.Event()

    def _open_socket(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._aborted.is_set():
            sock.close()
            raise TimeoutError("deadline passed while connecting")
        return sock

    def connect(self) -> None:
        self.sock = self._open_socket()

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def abort(self) -> None:
        self._aborted.set()
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """TLS to the checked address, with the certificate checked against the URL's host name."""

    _context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(self._open_socket(), server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST ``body`` to ``target`` within ``timeout`` seconds in all; the status (2xx).

    DeliveryError (with the status code when there is one) for anything else, redirects
    included.
    """
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    deadline = time.monotonic() + timeout
    # The socket timeout bounds each operation; the timer bounds them all together.
    timer = threading.Timer(timeout, connection.abort)
    timer.daemon = True
    timer.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        status = int(response.status)
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline or connection.aborted:
            raise DeliveryError(f"{target.origin} timed out after {timeout:g} s") from exc
        raise DeliveryError(f"cannot reach {target.origin}: {exc}") from exc
    finally:
        timer.cancel()
        connection.close()
    if connection.aborted:
        # http.client takes an end of input in the middle of the headers as their end, so a
        # cut-off answer can look complete: the abort decides.
        raise DeliveryError(f"{target.origin} timed out after {timeout:g} s")
    if 300 <= status < 400:
        raise DeliveryError(
            f"HTTP {status} from {target.origin}: redirects are not followed; "
            "configure the final URL",
            status_code=status,
        )
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from {target.origin}", status_code=status)
    return status
