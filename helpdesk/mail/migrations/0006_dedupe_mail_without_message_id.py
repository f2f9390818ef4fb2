"""A message without a Message-ID is a duplicate when its content is (with a Date), or
its bytes are (without one): the content-hash constraint now covers it too."""

from django.db import migrations, models


def rehash_mail_without_message_id(apps, schema_editor):
    """Rows without a Message-ID get the hash the rule gives (the content's when the
    message has a Date, else its bytes'); where two would now collide (the same message
    imported twice before), the later keeps its byte hash."""
    from helpdesk.mail.fingerprint import dedupe_hash

    Inbound = apps.get_model("helpdesk_mail", "InboundMessage")
    rows = Inbound.objects.filter(message_id="").exclude(status="duplicate").order_by("pk")
    taken = set()
    for pk, sha in rows.values_list("pk", "sha256").iterator(chunk_size=200):
        raw = bytes(Inbound.objects.values_list("raw", flat=True).get(pk=pk))
        value = dedupe_hash(raw, "", sha)
        if value in taken:
            value = sha
        taken.add(value)
        Inbound.objects.filter(pk=pk).update(content_hash=value)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_mail", "0005_inbound_api_key"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="inboundmessage",
            name="mail_inbound_once_per_content",
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="content_hash",
            field=models.CharField(
                blank=True,
                help_text=(
                    "SHA-256 of the content (body and author headers, not the trace "
                    "headers): the same Message-ID (or none) with the same content is a "
                    "duplicate. For a message with neither a Message-ID nor a Date: the "
                    "SHA-256 of its bytes."
                ),
                max_length=64,
            ),
        ),
        migrations.RunPython(rehash_mail_without_message_id, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "duplicate"), _negated=True),
                fields=("message_id", "content_hash"),
                name="mail_inbound_once_per_content",
            ),
        ),
    ]
