from django.urls import path

from pingji.web.ratings import sheet_views, views

app_name = "ratings"
urlpatterns: list = [
    path("", views.worklist, name="worklist"),
    path("sheet/", sheet_views.rating_sheet, name="sheet"),
    path("review/", views.review, name="review"),
    path("review/decide/", views.decide, name="decide"),
    path("assignments/", views.assignments, name="assignments"),
    path("assignments/add/", views.assignment_add, name="assignment_add"),
    path(
        "assignments/<int:assignment_id>/delete/",
        views.assignment_delete,
        name="assignment_delete",
    ),
    path(
        "<str:scheme>/<str:period>/<str:entity_id>/<str:indicator>/",
        views.cell,
        name="cell",
    ),
]
