from django.urls import path

from pingji.web.accounts import views

app_name = "accounts"
urlpatterns: list = [
    path("", views.users, name="users"),
    path("new/", views.user_new, name="user_new"),
    path("<int:user_id>/", views.user_edit, name="user_edit"),
    path("<int:user_id>/password/", views.user_password, name="user_password"),
    path("departments/", views.departments, name="departments"),
    path(
        "departments/<int:department_id>/rename/",
        views.department_rename,
        name="department_rename",
    ),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
