"""The knowledge base in the staff panel; the panel includes these at /scp/kb/."""

from django.urls import path

from . import staff_views as views

app_name = "kb_staff"
urlpatterns = [
    path("", views.kb_index, name="index"),
    path("categories/new/", views.category_new, name="category_new"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
    path("faqs/new/", views.faq_new, name="faq_new"),
    path("faqs/<int:pk>/", views.faq_view, name="faq"),
    path("faqs/<int:pk>/edit/", views.faq_edit, name="faq_edit"),
    path("faqs/<int:pk>/delete/", views.faq_delete, name="faq_delete"),
    path(
        "faqs/<int:pk>/files/<int:file_pk>/<str:filename>",
        views.faq_attachment,
        name="faq_attachment",
    ),
]
