from django.urls import path

from pingji.web.runs import scorecard_views, views

app_name = "runs"
urlpatterns: list = [
    path("", views.run_list, name="list"),
    path("new/", views.new, name="new"),
    path("compare/", views.compare, name="compare"),
    path("compare/entities/", views.compare_entities, name="compare_entities"),
    path("<int:run_id>/", views.detail, name="detail"),
    path("<int:run_id>/status/", views.status, name="status"),
    path("<int:run_id>/rerun/", views.rerun_view, name="rerun"),
    path("<int:run_id>/void/", views.void, name="void"),
    path("<int:run_id>/restore/", views.restore, name="restore"),
    path("<int:run_id>/export/<str:fmt>/", views.export, name="export"),
    # background Excel exports (more than exports.BACKGROUND_ROWS rows)
    path("<int:run_id>/exports/<str:job_id>/", views.export_job, name="export_job"),
    path("<int:run_id>/exports/<str:job_id>/status/", views.export_status, name="export_status"),
    path(
        "<int:run_id>/exports/<str:job_id>/download/",
        views.export_download,
        name="export_download",
    ),
    # the fact rows behind one metric of an entity, and the entity's scorecard; entity ids
    # may hold "/" (path converter), so the longer route comes first
    path(
        "<int:run_id>/entities/<path:entity_id>/why/<str:metric>/",
        scorecard_views.why,
        name="why",
    ),
    path("<int:run_id>/entities/<path:entity_id>/", scorecard_views.scorecard, name="scorecard"),
]
