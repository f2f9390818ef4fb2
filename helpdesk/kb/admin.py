from django.contrib import admin

from .models import CannedAttachment, CannedResponse


class CannedAttachmentInline(admin.TabularInline):
    model = CannedAttachment
    extra = 0
    readonly_fields = ["file", "filename", "content_type"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "is_active", "updated_at"]
    list_filter = ["is_active", "department"]
    search_fields = ["title", "body_html", "notes"]
    inlines = [CannedAttachmentInline]
