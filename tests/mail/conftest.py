"""Fixtures of the mail tests: the message corpus, a mailbox, helpdesk defaults."""

from pathlib import Path

import pytest

from helpdesk.mail.models import Mailbox
from tickets.models import HelpdeskSettings

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str, **subs: str) -> bytes:
    """A corpus message, with {PLACEHOLDERS} filled in."""
    raw = (CORPUS / name).read_bytes()
    for key, value in subs.items():
        raw = raw.replace(("{" + key + "}").encode(), value.encode())
    return raw


def message(
    *,
    sender="alice@acme.test",
    name="Alice Example",
    subject="Printer on fire",
    body="It is on fire.",
    message_id="<m1@acme.test>",
    headers: dict | None = None,
    to="support@helpdesk.test",
) -> bytes:
    """A small text message built in the test (for cases the corpus does not need)."""
    lines = [
        f"From: {name} <{sender}>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}" if message_id else "",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
        "",
    ]
    head = [line for line in lines[:-3] if line]
    return "\r\n".join([*head, *lines[-3:]]).encode()


AUTHSERV_ID = "mx.helpdesk.test"


def authenticated(raw: bytes, *, result: str = "dmarc=pass", domain: str = "acme.test") -> bytes:
    """The message as our receiving MTA stamps it: an Authentication-Results header of
    the trusted authserv-id on top (e.g. result="dkim=pass header.d=acme.test")."""
    if result.startswith("dmarc=") and "header.from" not in result:
        result = f"{result} header.from={domain}"
    return f"Authentication-Results: {AUTHSERV_ID}; {result}\r\n".encode() + raw


@pytest.fixture
def trust_mail(settings):
    """MAIL_UNVERIFIED_POLICY=trust: every sender is taken at its word (an install
    without an authenticating MTA). The tests written before sender authentication,
    about threading, parsing and notifications, state it explicitly with this."""
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "trust"}


@pytest.fixture
def authserv(settings):
    """Our MTA stamps Authentication-Results as mx.helpdesk.test; the default policy."""
    settings.HELPDESK_MAIL = {
        **settings.HELPDESK_MAIL,
        "AUTHSERV_IDS": [AUTHSERV_ID],
        "UNVERIFIED_POLICY": "new_ticket",
    }


@pytest.fixture
def helpdesk(cast):
    """The cast, with dept_a as the default department and an address for it."""
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    cast.dept_a.email = "support@helpdesk.test"
    cast.dept_a.save()
    return cast


@pytest.fixture
def mailbox(helpdesk):
    return Mailbox.objects.create(
        name="Support",
        address="support@helpdesk.test",
        department=helpdesk.dept_a,
        host="127.0.0.1",
        username="support@helpdesk.test",
        password="secret",
        security=Mailbox.Security.NONE,
    )


@pytest.fixture
def dovecot():
    """A real Dovecot IMAP and POP3 server on free ports (tests marked slow)."""
    import tempfile

    from tests import realservers

    from .servers import Dovecot

    realservers.require("dovecot")
    server = Dovecot(Path(tempfile.mkdtemp(prefix="hd-dovecot-"))).start()
    yield server
    server.stop()


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that Django's SMTP backend sends to."""
    from .servers import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


# The table where every message is recorded, refused ones too (parked, rejected, dropped,
# duplicate) with the reason: what a refusal of mail may write, `nothing_written(only_new=)`.
RECORDS = "helpdesk_mail.inboundmessage"


def the_record(watch) -> dict:
    """The one message record a refused mail added, as a row (`with nothing_written(
    only_new=(RECORDS,)) as watch`)."""
    [record] = watch.added[RECORDS]
    return record
