from django.urls import path

from pingji.web.schemes import views

app_name = "schemes"
urlpatterns: list = [
    path("", views.list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("<slug:code>/", views.detail, name="detail"),
    path("<slug:code>/diff/", views.diff, name="diff"),
    path("<slug:code>/v<int:number>/", views.version, name="version"),
    path("<slug:code>/v<int:number>/yaml/", views.yaml, name="yaml"),
    path("<slug:code>/v<int:number>/edit/", views.edit, name="edit"),
    path("<slug:code>/v<int:number>/form/", views.form_edit, name="form"),
    path("<slug:code>/v<int:number>/whatif/", views.whatif, name="whatif"),
    path("<slug:code>/v<int:number>/publish/", views.publish_version, name="publish"),
    path("<slug:code>/v<int:number>/copy/", views.copy, name="copy"),
    path("<slug:code>/v<int:number>/delete/", views.delete, name="delete"),
]
