from django.urls import path

from pingji.web.schemes import views

app_name = "schemes"
urlpatterns: list = [path("", views.list, name="list")]
