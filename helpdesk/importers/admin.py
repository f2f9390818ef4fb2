"""The mapping table, read-only: what an import brought over and from which source row."""

from django.contrib import admin

from .models import ImportedObject


@admin.register(ImportedObject)
class ImportedObjectAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "source_id", "content_type", "object_id", "imported_at"]
    list_filter = ["source", "kind", "content_type"]
    search_fields = ["source_id"]
    readonly_fields = [f.name for f in ImportedObject._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
