from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

admin.site.site_header = "Helpdesk administration"
admin.site.site_title = "Helpdesk admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
