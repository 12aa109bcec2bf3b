from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "pingji.web.entities"
    label = "entities"
    verbose_name = "评价对象"
