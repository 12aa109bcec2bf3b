from django.urls import path

from pingji.web.imports import views

app_name = "imports"
urlpatterns: list = [path("", views.list, name="list")]
