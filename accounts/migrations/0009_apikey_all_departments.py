from django.db import migrations, models


def unscoped_keys_cover_the_helpdesk(apps, schema_editor):
    """Keys that create tickets and name no department are osTicket's keys, as the README's
    command made them: since issue 12 they could open no ticket and join no reply. They
    now act for the whole helpdesk. Keys that only run the cron jobs keep no ticket access."""
    ApiKey = apps.get_model("accounts", "ApiKey")
    ApiKey.objects.filter(
        can_create_tickets=True,
        read_departments__isnull=True,
        write_departments__isnull=True,
    ).update(all_departments=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_seed_roles_tasks"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="all_departments",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Reads and changes the tickets of every department, opens tickets wherever "
                    "routing sends them and pipes mail for the whole helpdesk, as osTicket's keys "
                    "do (a key made for creating tickets without any department). Off: only the "
                    "departments below."
                ),
                verbose_name="whole helpdesk",
            ),
        ),
        migrations.RunPython(unscoped_keys_cover_the_helpdesk, migrations.RunPython.noop),
    ]
