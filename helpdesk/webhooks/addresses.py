"""Where a webhook may go, and a connection that goes exactly there.

A target's host is resolved once (`resolve`); every address it gives must be public,
or the target is refused; the connection is then made to that address, with the
original Host header and, over TLS, the server name (SNI) and the certificate checked
against the host name. There is no second lookup that a DNS answer changed in between
(DNS rebinding) could send to an internal service.

Refused (unless settings.HELPDESK_WEBHOOKS["ALLOW_PRIVATE"], for tests and development):
loopback, private, link-local, shared (100.64.0.0/10), multicast, reserved,
unspecified, the special-purpose blocks of the IANA registries (SPECIAL_PURPOSE) and
other non-global addresses, and the same addresses carried in IPv6 (IPv4-mapped, 6to4,
NAT64, Teredo).
"""

import contextlib
import http.client
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# The IANA special-purpose registries (RFC 6890 and later) name blocks that are not
# globally reachable; Python's tables change between versions and 3.11 misses some
# (192.0.0.8, 192.88.99.1 and 3fff::1 pass as global). Listed here, they are refused
# whatever the interpreter says. (Blocks the registries mark globally reachable, such
# as AS112 and AMT, are left to ordinary checks.)
SPECIAL_PURPOSE = tuple(
    (ipaddress.ip_network(net), name)
    for net, name in (
        ("0.0.0.0/8", "this network"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast, deprecated"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("240.0.0.0/4", "reserved"),
        ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
        ("100::/64", "discard-only"),
        ("100:0:0:1::/64", "dummy prefix"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6) SIDs"),
    )
)
LOCAL_NAMES = ("localhost", "localhost.localdomain")


class UrlRefused(Exception):
    pass


class Unresolvable(UrlRefused):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name (or literal address) as written in the URL
    port: int
    path: str
    addresses: tuple[str, ...]  # what the host resolved to, in the resolver's order


def _carried(ip) -> list:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, Teredo client)."""
    if ip.version != 6:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if any(ip in net for net in NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def _kind(ip) -> str | None:
    """Why an address is refused, or None when it is a public unicast address."""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("shared (100.64.0.0/10)", ip.version == 4 and ip in SHARED),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private or getattr(ip, "is_site_local", False)),
        ("reserved", ip.is_reserved),
        *(
            (f"{name} ({net})", ip.version == net.version and ip in net)
            for net, name in SPECIAL_PURPOSE
        ),
        ("non-public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def refused_because(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    for candidate in (*_carried(ip), ip):
        kind = _kind(candidate)
        if kind is not None:
            inside = "" if candidate == ip else f" ({candidate} inside)"
            return f"{address} is not a public address: {kind}{inside}"
    return None


def _allow_private() -> bool:
    return settings.HELPDESK_WEBHOOKS["ALLOW_PRIVATE"]


def parse(url: str) -> Target:
    """The URL's parts, without resolving; refuses what is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"Not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("Only http and https URLs with a host are accepted.")
    host = parts.hostname.strip("[]").lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, host, port or default, path, ())


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _check(target: Target, addresses) -> None:
    if _allow_private():
        return
    for address in addresses:
        reason = refused_because(address)
        if reason is not None:
            raise UrlRefused(f"{target.host} is refused: {reason}.")


def resolve(url: str) -> Target:
    """Resolve the host once and check every address: the target to connect to."""
    target = parse(url)
    literal = _literal(target.host)
    local = target.host in LOCAL_NAMES or target.host.endswith(".localhost")
    if local and not _allow_private():
        raise UrlRefused(f"{target.host} is refused: it names this machine (loopback).")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise Unresolvable(f"{target.host} does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    _check(target, addresses)
    return Target(target.scheme, target.host, target.port, target.path, tuple(addresses))


def check_at_save(url: str) -> None:
    """A subscription's URL: literal addresses and names that resolve are checked now; a
    name that does not resolve yet is accepted (it is checked again at every delivery)."""
    try:
        resolve(url)
    except Unresolvable:
        return


# --- the pinned connection ------------------------------------------------------------------


class Deadline:
    """The end of a whole exchange. Socket timeouts bound each read, not the exchange:
    a target sending one byte every half second would hold a delivery for minutes. A
    timer shuts the watched sockets down when the deadline passes, so a read blocked
    there returns at once (`passed` says why)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.passed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def left(self) -> float:
        return max(self.ends - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.passed.is_set():
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.passed.set()
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    """Shut the descriptor down (for TLS too: the socket's own method, not SSLSocket's,
    which would drop the TLS state under a reader in another thread)."""
    with contextlib.suppress(OSError):  # not connected yet, or closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect(address: str, port: int, deadline: Deadline, timeout, source_address):
    sock = socket.create_connection((address, port), min(timeout, deadline.left()), source_address)
    deadline.watch(sock)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a given address; the Host header stays the URL's host."""

    def __init__(self, host, port, *, address: str, deadline: Deadline, **kwargs):
        super().__init__(host, port, **kwargs)
        self.address, self.deadline = address, deadline

    def connect(self):
        self.sock = _connect(
            self.address, self.port, self.deadline, self.timeout, self.source_address
        )


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a given address; SNI and the certificate check use the URL's host."""

    def __init__(self, host, port, *, address: str, deadline: Deadline, **kwargs):
        super().__init__(host, port, **kwargs)
        self.address, self.deadline = address, deadline

    def connect(self):
        sock = _connect(self.address, self.port, self.deadline, self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(
            sock, server_hostname=self.host, do_handshake_on_connect=False
        )
        self.deadline.watch(self.sock)  # the TLS socket took the descriptor over
        self.sock.do_handshake()


def post(target: Target, body: bytes, headers: dict, *, timeout: float) -> tuple[int, bytes]:
    """POST to the first resolved address that accepts a connection. Returns the status
    and the first KiB of the answer (nothing more is read). Redirects are not followed.
    `timeout` bounds the whole exchange (connecting, sending, the answer), over every
    address tried: past it, TimeoutError."""
    kind = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    last_error: OSError | None = None
    with Deadline(timeout) as deadline:
        for address in target.addresses:
            conn = kind(
                target.host, target.port, address=address, deadline=deadline, timeout=timeout
            )
            try:
                conn.request("POST", target.path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read(1024)
            except ConnectionRefusedError as exc:  # try the host's next address
                last_error = exc
            except (OSError, http.client.HTTPException):
                if not deadline.passed.is_set():
                    raise
                raise TimeoutError(f"no complete answer within {timeout:g} s") from None
            finally:
                conn.close()
    raise last_error or OSError("no address to connect to")
