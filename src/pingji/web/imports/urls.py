from django.urls import path

from pingji.web.imports import views

app_name = "imports"
urlpatterns: list = [
    path("", views.batch_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("template/<str:table>.csv", views.template, name="template"),
    path("uploads/<str:upload_id>/", views.preview, name="preview"),
    path("uploads/<str:upload_id>/status/", views.upload_status, name="upload_status"),
    path("uploads/<str:upload_id>/commit/", views.commit, name="commit"),
    path("uploads/<str:upload_id>/discard/", views.discard, name="discard"),
    path("<int:batch_id>/", views.detail, name="detail"),
    path("<int:batch_id>/withdraw/", views.withdraw, name="withdraw"),
]
