"""Sealed outbox arguments: a registration's password hash and the live links of portal
mail are stored encrypted in the outbox, never shown by its admin, and the tasks still
run with them."""

import re

from django.core import mail
from django.db import connection
from django.test import Client

from accounts.models import User
from helpdesk.cron import run_job
from helpdesk.outbox.models import OutboxTask
from helpdesk.portal.models import EmailVerification

from ..redis_process import celery_broker

LINK = re.compile(r"https?://[^/\s]+(/[^\s]+/)")
REGISTER = {
    "name": "Nora New",
    "email": "nora@example.org",
    "password1": "plum-tree-42",
    "password2": "plum-tree-42",
}


def _raw_rows() -> list[tuple]:
    """The outbox rows as the database holds them (what a dump or an SQL reader sees)."""
    table = OutboxTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT task, args, kwargs, sealed, last_error FROM {table}")  # noqa: S608
        return [tuple(str(v) for v in row) for row in cursor.fetchall()]


def test_a_registration_keeps_its_password_hash_and_its_link_sealed_and_still_works(db):
    with celery_broker("memory://"):
        assert Client().post("/register/", REGISTER).status_code == 302
        decision = _raw_rows()  # the worker's decision, waiting
        assert run_job("outbox_drain") == 1
        mailing = _raw_rows()  # the verification mail, waiting
        assert mail.outbox == []
        assert run_job("outbox_drain") == 1

    [sent] = mail.outbox
    assert sent.to == ["nora@example.org"]
    link = LINK.search(sent.body).group(1)
    password_hash = EmailVerification.objects.get(email="nora@example.org").password
    assert password_hash.startswith("md5$")
    for rows, task in (
        (decision, "helpdesk.portal.tasks.registration_start_task"),
        (mailing, "helpdesk.portal.tasks.send_portal_mail_task"),
    ):
        [(name, args, kwargs, sealed, _error)] = rows
        assert (name, args, kwargs) == (task, "[]", "{}")
        assert sealed.startswith("gAAAA")  # a Fernet token
        assert password_hash not in str(rows) and "md5$" not in str(rows)
        assert link not in str(rows) and "nora@example.org" not in str(rows)
    assert not OutboxTask.objects.exists()

    # the link works: the account is made with the password chosen at registration
    assert Client().post(link)["Location"] == "/tickets/"
    assert User.objects.get(email="nora@example.org").check_password("plum-tree-42")


def test_the_outbox_admin_never_shows_sealed_arguments(client, cast):
    from helpdesk.outbox.services import enqueue
    from helpdesk.portal.tasks import send_portal_mail_task

    client.force_login(cast.admin)
    admin_client = client
    row = enqueue(
        send_portal_mail_task, "a@b.test", "Sign in", "https://x/signin/SECRET/", "", sealed=True
    )
    OutboxTask.objects.filter(pk=row.pk).update(state="dead")  # given up: kept for the admin

    listing = admin_client.get("/admin/helpdesk_outbox/outboxtask/")
    page = admin_client.get(f"/admin/helpdesk_outbox/outboxtask/{row.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert "(sealed)" in listing.content.decode()
    for response in (listing, page):
        assert "SECRET" not in response.content.decode()
        assert "a@b.test" not in response.content.decode()


def test_a_sealed_row_whose_key_is_gone_is_retried_not_crashed(db, settings):
    from cryptography.fernet import Fernet

    from helpdesk.outbox.services import enqueue, outbox_run
    from helpdesk.portal.tasks import send_portal_mail_task

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    row = enqueue(send_portal_mail_task, "a@b.test", "Hi", "text", "", sealed=True)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key dropped

    assert outbox_run(row.pk) == "retry"

    assert mail.outbox == []
    [(state, attempts, error)] = OutboxTask.objects.values_list("state", "attempts", "last_error")
    assert (state, attempts) == ("pending", 1)
    assert error.startswith("SecretUnreadable: A stored secret cannot be decrypted")
