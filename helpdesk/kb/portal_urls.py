"""The knowledge base in the portal, mounted at /kb/ by helpdesk.portal.urls
(names: portal:kb:...)."""

from django.urls import path

from . import portal_views as views

app_name = "kb"
urlpatterns = [
    path("", views.kb_index, name="index"),
    path("search/", views.kb_search, name="search"),
    path("suggest/", views.kb_suggest, name="suggest"),
    path("category/<int:pk>/", views.kb_category, name="category"),
    path("faq/<int:pk>/", views.kb_faq, name="faq"),
    path("faq/<int:pk>/files/<int:file_pk>/<str:filename>", views.kb_attachment, name="attachment"),
]
