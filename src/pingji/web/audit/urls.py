from django.urls import path

from pingji.web.audit import views

app_name = "audit"
urlpatterns: list = [path("", views.list, name="list")]
