"""Issue 19's storage, second pass (docs/performance.md, "Storage"): a thread has no time
of its own (nothing read Thread.created_at; its first entry's time is the thread's), and
the Message-ID index holds only the entries that have one (those that came by mail;
threading looks up given Message-IDs, never the empty one)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("threads", "0010_lean_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="threadentry",
            name="threads_entry_message_id",
        ),
        migrations.RemoveField(
            model_name="thread",
            name="created_at",
        ),
        migrations.AddIndex(
            model_name="threadentry",
            index=models.Index(
                condition=models.Q(("message_id", ""), _negated=True),
                fields=["message_id"],
                name="threads_entry_message_id",
            ),
        ),
    ]
