from django.urls import path

from pingji.web.runs import views

app_name = "runs"
urlpatterns: list = [
    path("", views.list, name="list"),
    path("<int:run_id>/", views.detail, name="detail"),
]
