from django.urls import path

from pingji.web.audit import views

app_name = "audit"
urlpatterns: list = [path("", views.event_list, name="list")]
