from django.urls import path

from pingji.web.entities import views

app_name = "entities"
urlpatterns: list = [path("", views.list, name="list")]
