"""The customer portal at /: plain URLs (osTicket's pages, in Django's words)."""

from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from .views import access, auth, home, language, open, profile, tickets


def favicon(request):
    # the file's (hashed) address read per request: at import time, before
    # `collectstatic` has written the manifest, it is not known yet (make serve)
    return HttpResponsePermanentRedirect(static("favicon.svg"))


app_name = "portal"
urlpatterns = [
    path("", home.home, name="home"),
    # browsers ask for /favicon.ico whatever the pages' <link rel="icon"> says
    path("favicon.ico", favicon),
    # opening a ticket
    path("open/", open.open_ticket, name="open"),
    path("open/fields/", open.open_fields, name="open_fields"),
    path("open/thanks/", open.open_thanks, name="open_thanks"),
    # signing in and out, registration, password reset
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("register/", auth.register, name="register"),
    path("register/sent/", auth.register_sent, name="register_sent"),
    path("register/verify/<str:token>/", auth.register_verify, name="register_verify"),
    path("register/invite/<str:token>/", auth.register_invite, name="register_invite"),
    path("password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # the client's profile
    path("language/", language.choose_language, name="language"),
    path("profile/", profile.profile, name="profile"),
    path("profile/password/", profile.password_change, name="profile_password"),
    path("profile/emails/", profile.email_add, name="profile_email_add"),
    path("profile/emails/<int:pk>/remove/", profile.email_remove, name="profile_email_remove"),
    path(
        "profile/emails/verify/<str:token>/",
        profile.email_verify,
        name="profile_email_verify",
    ),
    # guests: a sign-in link for one ticket, by email
    path("access/", access.access_request, name="access"),
    path("access/sent/", access.access_sent, name="access_sent"),
    path("access/<str:token>/", access.access_open, name="access_open"),
    # guests: the ticket link in mail about their ticket (signed, expiring)
    path("access/ticket/<str:token>/", access.ticket_link_open, name="ticket_link"),
    # tickets
    path("tickets/", tickets.ticket_list, name="tickets"),
    path("tickets/<str:number>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<str:number>/reply/", tickets.ticket_reply, name="ticket_reply"),
    path("tickets/<str:number>/close/", tickets.ticket_close, name="ticket_close"),
    path(
        "tickets/<str:number>/files/<int:pk>/<str:filename>",
        tickets.ticket_attachment,
        name="ticket_attachment",
    ),
    # knowledge base
    path("kb/", include("helpdesk.kb.portal_urls")),
]
