"""The task queues' and task search's indexes, as 0002 and 0003 made for tickets:

- the full-text index of task titles (PostgreSQL only): a functional GIN index over the
  exact expression `helpdesk.panel.search.worded` queries;
- a small partial index for the Overdue task tab and its count: without it, counting the
  overdue tasks among 100,000 open ones reads every task (few are overdue, none may be).
"""

from django.db import migrations

TITLE = "panel_task_title_fts"
TITLE_SQL = (
    f"CREATE INDEX IF NOT EXISTS {TITLE} ON tickets_task "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))"
)
OVERDUE = "panel_task_open_overdue"
OVERDUE_SQL = (
    f"CREATE INDEX IF NOT EXISTS {OVERDUE} ON tickets_task "
    "(updated_at DESC, id DESC) WHERE state = 'open' AND is_overdue"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TITLE_SQL)
    schema_editor.execute(OVERDUE_SQL)


def drop(apps, schema_editor):
    for name in (TITLE, OVERDUE):
        if name == OVERDUE or schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_panel", "0005_task_alert_preferences"),
        ("tickets", "0011_tasks"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
