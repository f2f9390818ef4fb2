"""Stored secrets are encrypted at rest (mailbox passwords, webhook signing secrets,
authenticator keys): the raw column never holds the secret, the application reads it
back, keys rotate, and the admin never shows them."""

import pyotp
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts import crypto
from helpdesk.mail.models import Mailbox
from helpdesk.panel import services as panel_services
from helpdesk.panel.models import TotpDevice
from helpdesk.webhooks.models import Subscription

SECRET = "s3cr3t-Pa55-wörd"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _mailbox(**extra) -> Mailbox:
    return Mailbox.objects.create(
        name="Support",
        address="support@helpdesk.test",
        host="imap.test",
        username="s",
        password=SECRET,
        **extra,
    )


def test_the_raw_columns_hold_no_secret_and_the_app_reads_them_back(cast):
    mailbox = _mailbox()
    sub = Subscription.objects.create(name="CRM", url="https://crm.example.com/hook")
    device = panel_services.totp_begin(actor=cast.agent_a)
    stored = {
        "mailbox": raw("helpdesk_mail_mailbox", "password", mailbox.pk),
        "webhook": raw("helpdesk_webhooks_subscription", "secret", sub.pk),
        "totp": raw("helpdesk_panel_totpdevice", "secret", device.pk),
    }
    plain = {"mailbox": SECRET, "webhook": sub.secret, "totp": device.secret}
    for name, value in stored.items():
        assert plain[name] not in value and value.startswith("gAAAAA"), name  # a Fernet token
    assert Mailbox.objects.get().password == SECRET
    assert Mailbox.objects.values_list("password", flat=True).get() == SECRET
    assert Subscription.objects.get().secret == plain["webhook"] and len(plain["webhook"]) == 64
    fresh = TotpDevice.objects.get()
    assert panel_services.totp_verify(
        agent=cast.agent_a, code=pyotp.TOTP(fresh.secret).now(), confirm=True
    )


def test_every_save_encrypts_anew_and_empty_stays_empty(db):
    mailbox = _mailbox()
    first = raw("helpdesk_mail_mailbox", "password", mailbox.pk)
    mailbox.save()
    assert raw("helpdesk_mail_mailbox", "password", mailbox.pk) != first  # random IV
    Mailbox.objects.filter(pk=mailbox.pk).update(password="")
    assert raw("helpdesk_mail_mailbox", "password", mailbox.pk) == ""
    assert Mailbox.objects.get().password == ""


def test_keys_from_the_environment_rotate(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    mailbox = _mailbox()
    under_old = raw("helpdesk_mail_mailbox", "password", mailbox.pk)
    assert Fernet(old.encode()).decrypt(under_old.encode()).decode() == SECRET
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # a new first key: old values still read
    assert Mailbox.objects.get().password == SECRET
    call_command("rotate_field_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    rotated = raw("helpdesk_mail_mailbox", "password", mailbox.pk)
    assert Fernet(new.encode()).decrypt(rotated.encode()).decode() == SECRET
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped
    assert Mailbox.objects.get().password == SECRET
    settings.FIELD_ENCRYPTION_KEYS = [old]  # a wrong key fails loudly, never silently
    with pytest.raises(crypto.SecretUnreadable, match="FIELD_ENCRYPTION_KEYS"):
        Mailbox.objects.get()


def test_without_keys_a_key_derived_from_secret_key_and_its_fallbacks_is_used(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "the-first-secret-key-" * 3
    mailbox = _mailbox()
    token = raw("helpdesk_mail_mailbox", "password", mailbox.pk)
    assert Fernet(crypto.derive_key(settings.SECRET_KEY)).decrypt(token.encode()) == (
        SECRET.encode()
    )
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-second-secret-key-" * 3
    assert Mailbox.objects.get().password == SECRET  # read through the fallback


def test_the_migration_encrypts_existing_plaintext(db):
    mailbox = _mailbox()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE helpdesk_mail_mailbox SET password = %s WHERE id = %s",
            ["plain-old", mailbox.pk],
        )
    forwards, backwards = crypto.encrypt_existing("helpdesk_mail_mailbox", "password")
    forwards(None, connection.schema_editor())
    assert "plain-old" not in raw("helpdesk_mail_mailbox", "password", mailbox.pk)
    assert Mailbox.objects.get().password == "plain-old"
    backwards(None, connection.schema_editor())
    assert raw("helpdesk_mail_mailbox", "password", mailbox.pk) == "plain-old"


def test_the_admin_never_shows_a_webhook_secret_and_empty_keeps_it(client, cast):
    sub = Subscription.objects.create(name="CRM", url="https://crm.example.com/hook")
    secret = sub.secret
    client.force_login(cast.admin)
    url = reverse("admin:helpdesk_webhooks_subscription_change", args=[sub.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert secret not in html and 'type="password" name="secret"' in html
    form = {"name": "CRM 2", "url": sub.url, "events": '["*"]', "is_active": "on", "secret": ""}
    assert client.post(url, form).status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.secret) == ("CRM 2", secret)
    assert client.post(url, {**form, "secret": "a-new-secret"}).status_code == 302
    sub.refresh_from_db()
    assert sub.secret == "a-new-secret"
