"""Full-text search indexes for the panel's quick search (PostgreSQL only).

Functional GIN indexes over the exact expressions `helpdesk.panel.search` queries
(`to_tsvector('english'::regconfig, COALESCE(col, ''))`), so the planner can use them.
They sit on core tables but are the panel's concern, hence here; on SQLite (no
full-text search, the fallback uses LIKE) the migration does nothing.
"""

from django.db import migrations

INDEXES = [
    ("panel_ticket_subject_fts", "tickets_ticket", "to_tsvector('english'::regconfig, COALESCE(subject, ''))"),
    ("panel_entry_body_fts", "threads_threadentry", "to_tsvector('english'::regconfig, COALESCE(body_text, ''))"),
    ("panel_user_name_fts", "accounts_user", "to_tsvector('simple'::regconfig, COALESCE(name, ''))"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_panel", "0001_initial"),
        ("tickets", "0006_custom_fields"),
        ("threads", "0002_alter_threadevent_kind"),
        ("accounts", "0004_api_keys_and_tokens"),
    ]

    # Before threads 0009 drops body_text (helpdesk_panel 0010 moves the index to body)
    run_before = [("threads", "0009_one_body")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
