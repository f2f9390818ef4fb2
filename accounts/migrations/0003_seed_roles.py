"""osTicket's four seeded roles."""

from django.db import migrations

from accounts.permissions import SEED_ROLES


def seed(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, keys in SEED_ROLES.items():
        Role.objects.get_or_create(name=name, defaults={"permissions": sorted(keys)})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
