"""The entries' full-text index on their one body (threads 0009 dropped body_text, and
its index with it): `to_tsvector('english', COALESCE(body, ''))`, the expression
`helpdesk.panel.search.EnglishVector("body")` queries. An HTML body's tags are not
words to the parser, so the index holds the same words as the text's. PostgreSQL only;
backwards the index is dropped (body_text comes back without one). The table is
analysed after: without statistics for the new expression the planner took a
seq-scan plan for common words (761 ms instead of 55 ms for 'printer' at 1,000,000
tickets, bench/panel.py) until autovacuum came round."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS panel_entry_body_fts ON threads_threadentry "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(body, '')))"
)
DROP = "DROP INDEX IF EXISTS panel_entry_body_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(CREATE)
        schema_editor.execute("ANALYZE threads_threadentry")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_panel", "0009_plain_admin_labels"),
        ("threads", "0009_one_body"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
