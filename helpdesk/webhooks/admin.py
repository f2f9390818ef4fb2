from django import forms
from django.contrib import admin, messages

from accounts.errors import DomainError

from . import services
from .addresses import UrlRefused
from .models import Attempt, Delivery, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "is_active", "secret"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            services.check_url(url)  # the same rule as the API's (addresses.py)
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc), code="url_refused") from None
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    # the secret is write-only here (accounts.crypto): never shown, empty keeps it
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # POST /api/v1/webhooks/ checks the address and shows the secret once

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in SubscriptionForm.Meta.fields}
        if not values["secret"]:  # write-only: empty keeps the stored secret
            del values["secret"]
        try:
            services.subscription_update(actor=request.user, subscription=obj, **values)
        except DomainError as exc:  # the form checked it; the DNS answer changed since
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)

    def delete_model(self, request, obj):
        services.subscription_delete(actor=request.user, subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            services.subscription_delete(actor=request.user, subscription=subscription)


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
