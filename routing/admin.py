from django.contrib import admin

from .models import SLA, BannedEmail, Department, HelpTopic, Holiday, Schedule, ScheduleHours, Team


class ScheduleHoursInline(admin.TabularInline):
    model = ScheduleHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone"]
    list_filter = ["timezone"]
    search_fields = ["name"]
    inlines = [ScheduleHoursInline, HolidayInline]


@admin.register(SLA)
class SLAAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "grace_hours",
        "schedule",
        "is_transient",
        "alerts_enabled",
        "is_active",
    ]
    list_filter = ["is_active", "is_transient", "alerts_enabled", "schedule"]
    search_fields = ["name", "notes"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "manager", "sla", "assign_policy", "is_public", "is_active"]
    list_filter = ["is_active", "is_public", "assign_policy", "assign_members_only", "sla"]
    search_fields = ["name", "email"]
    autocomplete_fields = ["parent", "manager"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "is_active", "alerts_enabled", "assign_policy"]
    list_filter = ["is_active", "alerts_enabled", "assign_policy"]
    search_fields = ["name", "members__email", "members__name"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["lead"]


@admin.register(HelpTopic)
class HelpTopicAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "department",
        "priority",
        "sla",
        "status",
        "is_public",
        "is_active",
        "sort",
    ]
    list_filter = ["is_active", "is_public", "department", "sla", "priority"]
    search_fields = ["name", "notes"]
    autocomplete_fields = ["parent", "department", "assign_agent", "assign_team"]
    list_select_related = ["parent", "department", "priority", "sla", "status"]


@admin.register(BannedEmail)
class BannedEmailAdmin(admin.ModelAdmin):
    list_display = ["address", "notes", "created_at"]
    search_fields = ["address", "notes"]
