"""The staff panel at /scp/ (osTicket's path). See docs/panel.md for the page map."""

from importlib.util import find_spec

from django.urls import include, path

from .views import (
    alerts,
    auth,
    banlist,
    directory,
    entries,
    family,
    new_ticket,
    people,
    profile,
    queues,
    reports,
    search,
    stats,
    task_queues,
    tasks,
    ticket_tasks,
    tickets,
)

app_name = "panel"

# The knowledge-base staff pages come from helpdesk.kb (another engineer's app); mounted
# here when they exist.
KB_ENABLED = find_spec("helpdesk.kb.staff_urls") is not None

T = "tickets/<str:number>/"
K = "tasks/<str:number>/"  # a task number always holds a digit: never "new", "bulk", ...

urlpatterns = [
    path("", queues.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.login_verify, name="login_verify"),
    path("logout/", auth.logout_view, name="logout"),
    path("password-reset/", auth.password_reset, name="password_reset"),
    path("password-reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth.password_reset_complete, name="password_reset_complete"),
    path("profile/", profile.profile, name="profile"),
    path("profile/password/", profile.password_change, name="password_change"),
    path("profile/2fa/", profile.totp_setup, name="totp_setup"),
    path("profile/2fa/disable/", profile.totp_disable, name="totp_disable"),
    path("profile/2fa/recovery/", profile.recovery_codes, name="recovery_codes"),
    path("dashboard/", queues.dashboard, name="dashboard"),
    path("alerts/", alerts.alerts_list, name="alerts"),
    path("alerts/read-all/", alerts.alerts_read_all, name="alerts_read_all"),
    path("alerts/<int:alert_id>/open/", alerts.alert_open, name="alert_open"),
    path("queues/bulk/", queues.bulk, name="bulk"),
    path("queues/save/", search.save_queue, name="queue_save"),
    path("queues/counts/", queues.queue_counts, name="queue_counts"),
    path("queues/<slug:slug>/", queues.queue_view, name="queue"),
    path("queues/<slug:slug>/delete/", queues.queue_delete, name="queue_delete"),
    path("search/", search.search, name="search"),
    path("search/advanced/", search.advanced, name="search_advanced"),
    path("users/", directory.users, name="users"),
    path("users/new/", people.user_new, name="user_new"),
    path("users/import/", people.user_import, name="user_import"),
    path("users/<int:user_id>/", directory.user_detail, name="user"),
    path("users/<int:user_id>/edit/", people.user_edit, name="user_edit"),
    path("users/<int:user_id>/delete/", people.user_remove, name="user_delete"),
    path("users/<int:user_id>/merge/", people.user_merge_view, name="user_merge"),
    path("users/<int:user_id>/account/<str:action>/", people.user_account, name="user_account"),
    path("orgs/", directory.organizations, name="orgs"),
    path("orgs/new/", people.org_new, name="org_new"),
    path("orgs/<int:org_id>/", directory.organization_detail, name="org"),
    path("orgs/<int:org_id>/edit/", people.org_edit, name="org_edit"),
    path("orgs/<int:org_id>/delete/", people.org_remove, name="org_delete"),
    path("stats/agents/", stats.agent_stats_view, name="agent_stats"),
    path("reports/", reports.reports_view, name="reports"),
    path("reports/export.csv", reports.reports_export, name="reports_export"),
    path("banlist/", banlist.banlist, name="banlist"),
    path("banlist/add/", banlist.banlist_add, name="banlist_add"),
    path("banlist/<int:ban_id>/remove/", banlist.banlist_remove, name="banlist_remove"),
    path("tickets/new/", new_ticket.new_ticket, name="ticket_new"),
    path("tickets/new/fields/", new_ticket.new_ticket_fields, name="ticket_new_fields"),
    path(T, tickets.ticket_view, name="ticket"),
    path(T + "print/", tickets.ticket_print, name="ticket_print"),
    path(T + "reply/", tickets.ticket_reply, name="ticket_reply"),
    path(T + "note/", tickets.ticket_note, name="ticket_note"),
    path(T + "claim/", tickets.ticket_claim, name="ticket_claim"),
    path(T + "release/", tickets.ticket_release, name="ticket_release"),
    path(T + "delete/", tickets.ticket_delete, name="ticket_delete"),
    path(T + "lock/", tickets.ticket_lock, name="ticket_lock"),
    path(T + "unlock/", tickets.ticket_unlock, name="ticket_unlock"),
    path(T + "draft/<str:kind>/", tickets.ticket_draft, name="ticket_draft"),
    path(T + "canned/<int:canned_id>/", tickets.canned_insert, name="ticket_canned"),
    path(T + "links/<str:other>/unlink/", tickets.ticket_unlink, name="ticket_unlink"),
    path(T + "unmerge/", family.ticket_unmerge, name="ticket_unmerge"),
    path(T + "ban-sender/", banlist.ticket_ban_sender, name="ticket_ban_sender"),
    path(T + "entries/<int:entry_id>/split/", family.ticket_split, name="ticket_split"),
    path(T + "entries/<int:entry_id>/edit/", entries.entry_edit, name="entry_edit"),
    path(T + "entries/<int:entry_id>/history/", entries.entry_history, name="entry_history"),
    path(T + "entries/<int:entry_id>/resend/", entries.entry_resend, name="entry_resend"),
    path(T + "entries/<int:entry_id>/headers/", entries.entry_headers, name="entry_headers"),
    path(
        T + "undeliverable/<int:user_id>/clear/",
        tickets.ticket_undeliverable_clear,
        name="ticket_undeliverable_clear",
    ),
    path(
        T + "collaborators/<int:user_id>/remove/",
        tickets.ticket_remove_collaborator,
        name="ticket_collaborator_remove",
    ),
    path(
        T + "attachments/<int:attachment_id>/<str:filename>",
        tickets.attachment_download,
        name="attachment",
    ),
    path(T + "do/<str:action>/", tickets.ticket_action, name="ticket_action"),
    path(T + "tasks/new/", ticket_tasks.ticket_task_new, name="ticket_task_new"),
    path(
        T + "tasks/<str:task_number>/close/",
        ticket_tasks.ticket_task_close,
        name="ticket_task_close",
    ),
    path("tasks/", task_queues.tasks_home, name="tasks"),
    path("tasks/new/", task_queues.task_new, name="task_new"),
    path("tasks/bulk/", task_queues.task_bulk, name="task_bulk"),
    path("tasks/search/", task_queues.task_search_view, name="task_search"),
    path("tasks/queues/<slug:slug>/", task_queues.task_queue, name="task_queue"),
    path(K, tasks.task_view, name="task"),
    path(K + "update/", tasks.task_update, name="task_update"),
    path(K + "claim/", tasks.task_claim, name="task_claim"),
    path(K + "release/", tasks.task_release, name="task_release"),
    path(K + "delete/", tasks.task_delete, name="task_delete"),
    path(K + "draft/", tasks.task_draft, name="task_draft"),
    path(K + "lock/", tasks.task_lock, name="task_lock"),
    path(K + "unlock/", tasks.task_unlock, name="task_unlock"),
    path(
        K + "attachments/<int:attachment_id>/<str:filename>",
        tasks.task_attachment,
        name="task_attachment",
    ),
    path(K + "do/<str:action>/", tasks.task_action, name="task_action"),
]

if KB_ENABLED:
    urlpatterns.append(path("kb/", include("helpdesk.kb.staff_urls")))
