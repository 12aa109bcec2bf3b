from django.urls import path

from pingji.web.entities import views

app_name = "entities"
urlpatterns: list = [
    path("", views.entity_list, name="list"),
    path("export.csv", views.export, name="export"),
    path("<str:table>/<path:entity_id>/", views.profile, name="profile"),
]
