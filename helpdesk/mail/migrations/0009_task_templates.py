"""The six task templates, as rows admins can edit, for installs made before tasks (a
new install got them from 0002 already: get_or_create leaves those, and any row an
admin wrote, as they are)."""

from django.db import migrations


def create(apps, schema_editor):
    from helpdesk.mail.templates import TASK_DEFAULTS, default_html

    EmailTemplate = apps.get_model("helpdesk_mail", "EmailTemplate")
    for code, (subject, text) in TASK_DEFAULTS.items():
        EmailTemplate.objects.get_or_create(
            code=code,
            defaults={"subject": subject, "body_text": text, "body_html": default_html(text)},
        )


def remove(apps, schema_editor):
    """Back before tasks: their template rows go (the old code does not know the codes)."""
    from helpdesk.mail.templates import TASK_DEFAULTS

    EmailTemplate = apps.get_model("helpdesk_mail", "EmailTemplate")
    EmailTemplate.objects.filter(code__in=list(TASK_DEFAULTS)).delete()


class Migration(migrations.Migration):
    dependencies = [("helpdesk_mail", "0008_task_mail")]

    operations = [migrations.RunPython(create, remove)]
