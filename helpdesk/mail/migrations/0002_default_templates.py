"""osTicket's template set, as rows admins can edit (the defaults stay in code too)."""

from django.db import migrations


def create(apps, schema_editor):
    from helpdesk.mail.templates import DEFAULTS, default_html

    EmailTemplate = apps.get_model("helpdesk_mail", "EmailTemplate")
    for code, (subject, text) in DEFAULTS.items():
        EmailTemplate.objects.get_or_create(
            code=code,
            defaults={"subject": subject, "body_text": text, "body_html": default_html(text)},
        )


class Migration(migrations.Migration):
    dependencies = [("helpdesk_mail", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
