from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from helpdesk.panel import admin_guard

admin_guard.install(admin.site)  # staff sign in once, at /scp/login/, with their 2FA
admin.site.site_header = "Helpdesk administration"
admin.site.site_title = "Helpdesk admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("helpdesk.api.urls")),
    path("scp/", include("helpdesk.panel.urls")),
    path("", include("helpdesk.portal.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
