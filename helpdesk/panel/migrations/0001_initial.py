import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PanelSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("require_2fa", models.BooleanField(default=False, help_text="Every agent must set up two-factor authentication to use the panel.")),
            ],
            options={"verbose_name": "panel settings", "verbose_name_plural": "panel settings"},
        ),
        migrations.CreateModel(
            name="AgentPreferences",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("language", models.CharField(blank=True, help_text="Empty: the site's.", max_length=16)),
                ("page_size", models.PositiveSmallIntegerField(default=25, validators=[django.core.validators.MinValueValidator(10), django.core.validators.MaxValueValidator(100)])),
                ("notify_new_ticket", models.BooleanField(default=True)),
                ("notify_new_message", models.BooleanField(default=True)),
                ("notify_assigned", models.BooleanField(default=True)),
                ("notify_transferred", models.BooleanField(default=True)),
                ("notify_overdue", models.BooleanField(default=True)),
                ("notify_note", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("agent", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="panel_preferences", to=settings.AUTH_USER_MODEL)),
            ],
            options={"verbose_name_plural": "agent preferences"},
        ),
        migrations.CreateModel(
            name="TotpDevice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("secret", models.CharField(max_length=64)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("last_counter", models.BigIntegerField(default=0, help_text="Time step of the last accepted code (no replays).")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("agent", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="panel_totp", to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name="SavedQueue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64)),
                ("is_shared", models.BooleanField(default=False, help_text="Shown to every agent.")),
                ("criteria", models.JSONField(blank=True, default=dict)),
                ("columns", models.JSONField(blank=True, default=list)),
                ("sort", models.CharField(default="-updated", max_length=32)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="panel_queues", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["name", "id"],
                "constraints": [models.UniqueConstraint(fields=("owner", "name"), name="panel_queue_name_per_owner")],
            },
        ),
    ]
