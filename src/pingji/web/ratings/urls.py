from django.urls import path

from pingji.web.ratings import views

app_name = "ratings"
urlpatterns: list = [
    path("", views.worklist, name="worklist"),
    path("review/", views.review, name="review"),
]
