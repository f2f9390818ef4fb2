"""A small partial index for the Overdue queue and its count.

Without it, counting the overdue tickets among 100,000 open ones reads every open row
(few are overdue, none may be). The index holds only open, overdue tickets, in the
queue's order. On a core table, but the panel's concern, hence here.
"""

from django.db import migrations

SQL = (
    "CREATE INDEX IF NOT EXISTS panel_ticket_open_overdue ON tickets_ticket "
    "(updated_at DESC, id DESC) WHERE state = 'open' AND is_overdue"
)


def create(apps, schema_editor):
    schema_editor.execute(SQL)


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS panel_ticket_open_overdue")


class Migration(migrations.Migration):
    dependencies = [("helpdesk_panel", "0002_search_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
