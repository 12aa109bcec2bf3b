from django.urls import path

from pingji.web.accounts import views

app_name = "accounts"
urlpatterns: list = [
    path("", views.users, name="users"),
    path("tokens/", views.tokens, name="tokens"),
]
