from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "pingji.web.ratings"
    label = "ratings"
    verbose_name = "人工评分"
