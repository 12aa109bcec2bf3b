from django.urls import path

from pingji.web.entities import views

app_name = "entities"
urlpatterns: list = [
    path("", views.entity_list, name="list"),
    path("export.csv", views.export, name="export"),
    # saved views (before the profile's catch-all route)
    path("views/save/", views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("<str:table>/<path:entity_id>/", views.profile, name="profile"),
]
