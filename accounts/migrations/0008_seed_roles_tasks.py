"""Give osTicket's seeded roles the task.* permissions they have in osTicket.

A role still holding exactly the permissions this product seeded it with gets the task
permissions of its osTicket namesake; a role an admin has changed is left alone (they
grant tasks themselves). The sets are written out here, frozen: later changes to
accounts.permissions must not change what this migration did.
"""

from django.db import migrations

TICKETS = [
    "ticket.assign",
    "ticket.close",
    "ticket.create",
    "ticket.delete",
    "ticket.edit",
    "ticket.link",
    "ticket.markanswered",
    "ticket.merge",
    "ticket.refer",
    "ticket.release",
    "ticket.reply",
    "ticket.transfer",
]
ALL_BEFORE = {*TICKETS, "thread.edit", "canned.manage"}
TASKS = {
    "task.assign",
    "task.close",
    "task.create",
    "task.delete",
    "task.edit",
    "task.reply",
    "task.transfer",
}
LIMITED_BEFORE = {
    "ticket.create",
    "ticket.merge",
    "ticket.link",
    "ticket.assign",
    "ticket.release",
    "ticket.transfer",
    "ticket.refer",
    "ticket.reply",
}
EXPANDED_BEFORE = ALL_BEFORE - {"ticket.markanswered", "ticket.delete", "thread.edit"}

# name: (the seeded set before tasks, the task permissions osTicket gives it)
ROLES = {
    "All Access": (ALL_BEFORE, TASKS),
    "Expanded Access": (EXPANDED_BEFORE, TASKS - {"task.delete"}),
    "Limited Access": (
        LIMITED_BEFORE,
        {"task.create", "task.assign", "task.transfer", "task.reply"},
    ),
}


def grant(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, (before, tasks) in ROLES.items():
        role = Role.objects.filter(name=name).first()
        if role is not None and set(role.permissions) == before:
            role.permissions = sorted(before | tasks)
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, (before, tasks) in ROLES.items():
        role = Role.objects.filter(name=name).first()
        if role is not None and set(role.permissions) == before | tasks:
            role.permissions = sorted(before)
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_apikey_scope_help_text")]
    operations = [migrations.RunPython(grant, revoke)]
