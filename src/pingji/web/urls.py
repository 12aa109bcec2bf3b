"""URL map: one include per app; the REST API under /api/ (OpenAPI docs at /api/docs)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from pingji.web import views
from pingji.web.api.api import api

handler400 = "pingji.web.views.bad_request"  # a refused value shows its reason

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", set_language, name="set_language"),
    path("accounts/", include("pingji.web.accounts.urls")),
    path("imports/", include("pingji.web.imports.urls")),
    path("entities/", include("pingji.web.entities.urls")),
    path("schemes/", include("pingji.web.schemes.urls")),
    path("runs/", include("pingji.web.runs.urls")),
    path("ratings/", include("pingji.web.ratings.urls")),
    path("audit/", include("pingji.web.audit.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
