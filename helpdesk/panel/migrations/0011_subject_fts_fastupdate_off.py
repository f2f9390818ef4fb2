"""The subjects' full-text index without GIN's pending list (`fastupdate = off`): a
subject adds a handful of words, inserted straight into the index at no measurable cost
(3,000 single-row inserts: 0.13 ms each either way), where the pending list's merges
left the index 9.1 MB at 100,000 tickets against 5.5 MB (docs/performance.md,
"Storage"). The entries' body index keeps it: a 1 KB body adds about fifty words, and
inserting them directly cost 0.3 ms more per entry. PostgreSQL only; the entries the
list already holds are moved into the index at once."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER INDEX panel_ticket_subject_fts SET (fastupdate = off)")
        schema_editor.execute("SELECT gin_clean_pending_list('panel_ticket_subject_fts')")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER INDEX panel_ticket_subject_fts RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("helpdesk_panel", "0010_entry_body_fts")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
