from django.contrib import admin

from .models import Attempt, Delivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    # the secret is write-only here (accounts.crypto): never shown, empty keeps it
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # POST /api/v1/webhooks/ checks the address and shows the secret once


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "status_code", "response_excerpt", "error", "duration_ms"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "status", "attempts", "created_at", "delivered_at"]
    list_filter = ["status", "event"]
    search_fields = ["event", "subscription__name", "last_error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False
