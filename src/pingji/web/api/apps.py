from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pingji.web.api"
    label = "api"
    verbose_name = "接口"
