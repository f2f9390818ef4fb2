"""Fixtures of the portal's browser tests: a real SMTP server (aiosmtpd) that Django's
SMTP backend delivers to, and the helpdesk configured as an administrator would."""

import socket
import time
from email import message_from_bytes, policy

import pytest

from helpdesk.kb import faq_services as kb
from tests.factories import TopicFactory
from tickets.models import CustomField, CustomForm, HelpdeskSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd in a thread, keeping every message it is handed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def wait_for(self, predicate, timeout: float = 15.0):
        """The first message (recipients, message) for which predicate is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rcpt, message in list(self.messages):
                if predicate(rcpt, message):
                    return message
            time.sleep(0.05)
        seen = [(r, m["Subject"]) for r, m in self.messages]
        raise AssertionError(f"no such message within {timeout} s; received: {seen}")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp(settings, live_server):
    """Mail goes through Django's SMTP backend to this server; links in mail point at the
    live server."""
    sink = SmtpSink()
    sink.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.HELPDESK_BASE_URL = live_server.url
    yield sink
    sink.controller.stop()


@pytest.fixture
def portal(cast):
    """dept_a takes portal tickets; a public topic with its own required field; a
    published FAQ the suggestions can offer."""
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    cast.dept_a.email = "support@helpdesk.test"
    cast.dept_a.save()
    topic = TopicFactory(name="Printers", department=cast.dept_a)
    form = CustomForm.objects.create(name="Printer")
    form.topics.add(topic)
    CustomField.objects.create(form=form, name="model", label="Printer model", required=True)
    category = kb.faq_category_create(
        actor=cast.admin, name="Printing", description="<p>Paper, toner and jams.</p>"
    )
    faq = kb.faq_create(
        actor=cast.admin,
        category=category,
        question="How do I clear a printer jam?",
        answer="<h2>Steps</h2><ol><li>Open the front tray.</li><li>Pull the paper gently."
        "</li></ol>",
        keywords="paper stuck",
        topics=[topic],
        is_published=True,
        is_featured=True,
    )
    kb.faq_create(
        actor=cast.admin,
        category=category,
        question="How do I replace the toner?",
        answer="<p>Shake the new cartridge before you put it in.</p>",
        is_published=True,
    )
    return {"cast": cast, "topic": topic, "faq": faq, "category": category}
