"""Issue 19's index audit (docs/performance.md, "Storage"; bench/indexes.py): no index
on an entry's created_at alone (entries are read by thread, in time:
threads_entry_thread_time), a plain Message-ID index without its LIKE twin, and the
editor and original-thread indexes only over the entries that have one."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("threads", "0009_one_body"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="threadentry",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name="threadentry",
            name="editor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="threadentry",
            name="message_id",
            field=models.CharField(blank=True, max_length=255, verbose_name="Message-ID"),
        ),
        migrations.AlterField(
            model_name="threadentry",
            name="original_thread",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Set when the entry came from a ticket merged into this one.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="threads.thread",
            ),
        ),
        migrations.AddIndex(
            model_name="threadentry",
            index=models.Index(fields=["message_id"], name="threads_entry_message_id"),
        ),
        migrations.AddIndex(
            model_name="threadentry",
            index=models.Index(
                condition=models.Q(("editor__isnull", False)),
                fields=["editor"],
                name="threads_entry_editor",
            ),
        ),
        migrations.AddIndex(
            model_name="threadentry",
            index=models.Index(
                condition=models.Q(("original_thread__isnull", False)),
                fields=["original_thread"],
                name="threads_entry_original_thread",
            ),
        ),
    ]
