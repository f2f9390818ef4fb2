"""Each entry (and revision) keeps one body, in its own format: `body` takes the HTML
of an HTML entry and the plain text of a text one (threads.html.stored_body); the other
is derived when read (threads.models.OneBody). Dropping body_text drops the panel's
full-text index on it (helpdesk_panel 0002); helpdesk_panel 0010 builds it on `body`."""

from django.db import migrations, models

FILL = """
UPDATE {table} SET body = CASE WHEN format = 'html' THEN body_html ELSE body_text END
"""
# Back: the stored format as it was; the other one derived in SQL as far as it can be
# (HTML from text escaped in one paragraph; text from HTML with its tags stripped on
# PostgreSQL, the HTML itself on SQLite, which has no regexp_replace).
UNFILL = """
UPDATE {table} SET
    body_html = CASE WHEN format = 'html' THEN body ELSE
        '<p>' || replace(replace(replace(body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') || '</p>'
        END,
    body_text = CASE WHEN format = 'html' THEN {strip} ELSE body END
"""


def unfill(table: str):
    def run(apps, schema_editor):
        strip = "body"
        if schema_editor.connection.vendor == "postgresql":
            strip = "regexp_replace(body, '<[^>]*>', '', 'g')"
        schema_editor.execute(UNFILL.format(table=table, strip=strip))

    return run


def operations_for(model: str, table: str) -> list:
    return [
        migrations.AddField(
            model_name=model,
            name="body",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.RunSQL(FILL.format(table=table), migrations.RunSQL.noop, elidable=False),
        migrations.RunPython(migrations.RunPython.noop, unfill(table), elidable=False),
        # a default first, so that backwards the columns come back on rows that exist
        *(
            migrations.AlterField(model_name=model, name=name, field=models.TextField(default=""))
            for name in ("body_html", "body_text")
        ),
        migrations.RemoveField(model_name=model, name="body_html"),
        migrations.RemoveField(model_name=model, name="body_text"),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("threads", "0008_draft_images"),
    ]

    operations = [
        *operations_for("threadentry", "threads_threadentry"),
        *operations_for("entryrevision", "threads_entryrevision"),
    ]
