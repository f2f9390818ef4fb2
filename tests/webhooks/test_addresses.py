"""Webhook targets: non-public addresses are refused at save and at delivery, the host is
resolved once and the connection goes to that address (Host header, TLS server name and
certificate check still the URL's host)."""

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from helpdesk.webhooks import addresses, services
from helpdesk.webhooks.models import Delivery, Subscription

from ..factories import open_ticket
from .conftest import Receiver

REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    """Answers for names, one answer per lookup in order (the last one repeats); an
    answer is an address or a list of them. Literal addresses pass through."""

    def __init__(self, monkeypatch, answers: dict[str, list]):
        self.answers = {name: list(queue) for name, queue in answers.items()}
        self.lookups: list[str] = []
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, host)
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        except (OSError, TypeError):
            pass
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        ips = [answer] if isinstance(answer, str) else answer
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in ips
        ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is not a public address: loopback"),
        ("10.0.0.5", "10.0.0.5 is not a public address: private"),
        ("172.16.0.1", "172.16.0.1 is not a public address: private"),
        ("192.168.1.1", "192.168.1.1 is not a public address: private"),
        ("169.254.169.254", "169.254.169.254 is not a public address: link-local"),
        ("100.64.0.1", "100.64.0.1 is not a public address: shared (100.64.0.0/10)"),
        ("224.0.0.1", "224.0.0.1 is not a public address: multicast"),
        ("0.0.0.0", "0.0.0.0 is not a public address: unspecified"),  # noqa: S104
        ("192.0.2.1", "192.0.2.1 is not a public address: private"),
        ("::1", "::1 is not a public address: loopback"),
        ("::", ":: is not a public address: unspecified"),
        ("fe80::1", "fe80::1 is not a public address: link-local"),
        ("fd12::1", "fd12::1 is not a public address: private"),
        ("fec0::1", "fec0::1 is not a public address: private"),
        ("ff02::1", "ff02::1 is not a public address: multicast"),
        ("::127.0.0.1", "::127.0.0.1 is not a public address: reserved"),
        (
            "::ffff:127.0.0.1",
            "::ffff:127.0.0.1 is not a public address: loopback (127.0.0.1 inside)",
        ),
        (
            "::ffff:100.64.1.1",
            "::ffff:100.64.1.1 is not a public address: shared (100.64.0.0/10) (100.64.1.1 inside)",
        ),
        (
            "2002:a9fe:a9fe::1",
            "2002:a9fe:a9fe::1 is not a public address: link-local (169.254.169.254 inside)",
        ),
        ("64:ff9b::a00:1", "64:ff9b::a00:1 is not a public address: private (10.0.0.1 inside)"),
        (
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
            "2001:0:4136:e378:8000:63bf:f5ff:fffe is not a public address: private "
            "(10.0.0.1 inside)",
        ),
        # special-purpose blocks that Python 3.11's tables let through
        (
            "192.0.0.8",
            "192.0.0.8 is not a public address: IETF protocol assignments (192.0.0.0/24)",
        ),
        (
            "192.88.99.1",
            "192.88.99.1 is not a public address: 6to4 relay anycast, deprecated (192.88.99.0/24)",
        ),
        ("3fff::1", "3fff::1 is not a public address: documentation (3fff::/20)"),
        (
            "2002:c058:6301::1",
            "2002:c058:6301::1 is not a public address: 6to4 relay anycast, deprecated "
            "(192.88.99.0/24) (192.88.99.1 inside)",
        ),
        (
            "64:ff9b::c000:8",
            "64:ff9b::c000:8 is not a public address: IETF protocol assignments "
            "(192.0.0.0/24) (192.0.0.8 inside)",
        ),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("2002:808:808::1", None),  # 6to4 of a public address
        ("192.31.196.1", None),  # AS112: globally reachable by the registry
        ("2620:4f:8000::1", None),  # AS112 for IPv6, the same
    ],
)
def test_what_counts_as_a_public_address(address, reason):
    assert addresses.refused_because(address) == reason


# The IANA special-purpose registries' blocks that are not globally reachable
# (iana-ipv4-special-registry, iana-ipv6-special-registry, as of 2025).
NOT_GLOBAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:10::/28",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
]


@pytest.mark.parametrize("network", NOT_GLOBAL)
def test_every_special_purpose_block_is_refused_from_its_first_to_its_last_address(network):
    block = ipaddress.ip_network(network)
    for address in (block[0], block[1] if block.num_addresses > 1 else block[0], block[-1]):
        assert addresses.refused_because(str(address)) is not None, address


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/x",
        "http://100.64.1.1/x",
        "http://[fd00::1]/x",
        "http://[2002:7f00:1::1]/x",
        "http://224.0.0.251/x",
        "http://192.0.0.8/x",
        "http://192.88.99.1/x",
        "http://[3fff::1]/x",
        "http://internal.example/x",  # resolves to 10.0.0.7 here
        "http://twofaced.example/x",  # one public and one private address
        "http://app.localhost/x",
    ],
)
def test_the_api_refuses_non_public_targets_at_save(
    cast, api_admin, monkeypatch, url, nothing_written
):
    FakeDns(
        monkeypatch,
        {"internal.example": ["10.0.0.7"], "twofaced.example": [["93.184.216.34", "10.1.2.3"]]},
    )

    with nothing_written():
        response = api_admin.post(
            "/api/v1/webhooks/", {"name": "x", "url": url, "events": ["*"]}, format="json"
        )

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "url_refused"
    assert not Subscription.objects.exists()


def test_a_public_name_is_accepted_and_one_that_does_not_resolve_yet_too(
    cast, api_admin, monkeypatch
):
    FakeDns(monkeypatch, {"hooks.example": ["93.184.216.34"]})
    for url in ("https://hooks.example/x", "https://not-yet.example/x"):
        response = api_admin.post(
            "/api/v1/webhooks/", {"name": "x", "url": url, "events": ["*"]}, format="json"
        )
        assert response.status_code == 201, response.content
    assert sorted(Subscription.objects.values_list("url", flat=True)) == [
        "https://hooks.example/x",
        "https://not-yet.example/x",
    ]


def test_the_django_admin_refuses_a_private_target_and_saves_through_the_service(
    cast, client, monkeypatch, nothing_written
):
    from django.urls import reverse

    FakeDns(monkeypatch, {"hooks.example": ["93.184.216.34"], "inside.example": ["192.168.0.9"]})
    sub = Subscription.objects.create(name="Chat", url="https://hooks.example/x", events=["*"])
    client.force_login(cast.admin)
    page = reverse("admin:helpdesk_webhooks_subscription_change", args=[sub.pk])
    form = {"name": "Chat", "url": "https://inside.example/x", "events": '["*"]', "is_active": "on"}

    with nothing_written():
        refused = client.post(page, form)

    assert refused.status_code == 200
    assert "inside.example is refused: 192.168.0.9 is not a public address: private" in (
        refused.content.decode()
    )
    sub.refresh_from_db()
    assert sub.url == "https://hooks.example/x"

    form["url"] = "https://hooks.example/y"
    assert client.post(page, form).status_code == 302
    sub.refresh_from_db()
    assert sub.url == "https://hooks.example/y"


def test_a_name_that_turns_private_after_saving_is_refused_at_delivery(
    cast, monkeypatch, receiver, settings
):
    settings.HELPDESK_WEBHOOKS = {**settings.HELPDESK_WEBHOOKS, "ALLOW_PRIVATE": False}
    dns = FakeDns(monkeypatch, {"hooks.example": ["93.184.216.34", "127.0.0.1"]})
    services.subscription_create(
        actor=cast.admin, name="x", url="http://hooks.example/x", events=["*"]
    )
    open_ticket(cast.alice, department=cast.dept_a)
    delivery = Delivery.objects.get()

    assert services.delivery_send(delivery.pk) == "gave_up"

    delivery.refresh_from_db()
    assert delivery.last_error == (
        "hooks.example is refused: 127.0.0.1 is not a public address: loopback."
    )
    assert dns.lookups == ["hooks.example", "hooks.example"]  # at save, at delivery
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_resolved_once(cast, monkeypatch, receiver):
    """DNS rebinding: a second lookup would now answer an address where nothing
    listens; the delivery still reaches the address the first lookup gave."""
    port = receiver.server.server_port
    dns = FakeDns(monkeypatch, {"hooks.test": ["127.0.0.1", "10.255.255.1"]})
    Subscription.objects.create(name="x", url=f"http://hooks.test:{port}/hook", events=["*"])
    open_ticket(cast.alice, department=cast.dept_a)

    assert services.delivery_send(Delivery.objects.get().pk) == "succeeded"

    assert dns.lookups == ["hooks.test"]
    [(headers, _body)] = receiver.requests
    assert headers["Host"] == f"hooks.test:{port}"


# --- TLS: the server name and the certificate are the URL's host, not the address ---------


@pytest.fixture
def tls_receiver(tmp_path, settings, monkeypatch):
    """An HTTPS receiver on 127.0.0.1 whose certificate names hooks.test, signed by a
    throwaway CA that the default trust store is told to accept (SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl program to make a test certificate")
    settings.HELPDESK_WEBHOOKS = {**settings.HELPDESK_WEBHOOKS, "ALLOW_PRIVATE": True}
    ca, cert, key = _certificates(tmp_path, "hooks.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    receiver = Receiver()
    names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.server_names = names
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def _certificates(folder, name):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)  # noqa: S603, S607

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    (folder / "ext.cnf").write_text(f"subjectAltName=DNS:{name}\n")
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={name}",
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
    )
    run(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "srv.pem",
    )
    return folder / "ca.pem", folder / "srv.pem", folder / "srv.key"


def test_tls_checks_the_certificate_against_the_host_name_not_the_address(
    cast, monkeypatch, tls_receiver
):
    port = tls_receiver.server.server_port
    FakeDns(monkeypatch, {"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    good = Subscription.objects.create(name="a", url=f"https://hooks.test:{port}/h", events=["*"])
    open_ticket(cast.alice, department=cast.dept_a)
    [delivery] = Delivery.objects.filter(subscription=good)

    assert services.delivery_send(delivery.pk) == "succeeded"
    assert tls_receiver.server_names == ["hooks.test"]  # SNI
    assert tls_receiver.requests[0][0]["Host"] == f"hooks.test:{port}"

    wrong = Subscription.objects.create(name="b", url=f"https://other.test:{port}/h", events=["*"])
    open_ticket(cast.alice, department=cast.dept_a)
    [refused] = Delivery.objects.filter(subscription=wrong)
    assert services.delivery_send(refused.pk) == "failed"
    refused.refresh_from_db()
    assert refused.last_error.startswith("SSLCertVerificationError: ")
    assert "Hostname mismatch, certificate is not valid for 'other.test'" in refused.last_error
    assert len(tls_receiver.requests) == 1


@pytest.fixture
def api_admin(cast):
    from ..api.conftest import Api

    return Api(cast).agent(cast.admin)
