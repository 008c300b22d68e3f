"""URL contract of the REST API (v1). Keep these paths stable."""

from django.urls import path

app_name = "api"

urlpatterns: list = []
