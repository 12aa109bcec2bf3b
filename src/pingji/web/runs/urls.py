from django.urls import path

from pingji.web.runs import scorecard_views, views

app_name = "runs"
urlpatterns: list = [
    path("", views.list, name="list"),
    path("<int:run_id>/", views.detail, name="detail"),
    # the scorecard of one entity in one run, and the fact rows behind one of its metrics
    path("<int:run_id>/entities/<str:entity_id>/", scorecard_views.scorecard, name="scorecard"),
    path(
        "<int:run_id>/entities/<str:entity_id>/why/<str:metric>/",
        scorecard_views.why,
        name="why",
    ),
]
