from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from helpdesk.panel import admin_guard

admin_guard.install(admin.site)  # staff sign in once, at /scp/login/, with their 2FA

# MEDIA_URL is never served, not even with DEBUG (`make run`): stored files leave only
# through the permission-checked download views (helpdesk.downloads).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("helpdesk.api.urls")),
    path("scp/health/", include("helpdesk.ops.urls")),
    path("scp/", include("helpdesk.panel.urls")),
    # the strings of static/*.js in the page's language (locale/*/LC_MESSAGES/djangojs.po)
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("helpdesk.portal.urls")),
]
