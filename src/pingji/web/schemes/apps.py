from django.apps import AppConfig


class SchemesConfig(AppConfig):
    name = "pingji.web.schemes"
    label = "schemes"
    verbose_name = "评价方案"
