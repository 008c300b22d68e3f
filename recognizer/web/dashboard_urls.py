"""URLs of the staff dashboard, under /admin/dashboard/ (namespace "dashboard")."""

from django.urls import path

from recognizer.web import dashboard

app_name = "dashboard"

urlpatterns = [
    path("", dashboard.dashboard, name="index"),
    path("charts/<str:name>.png", dashboard.chart, name="chart"),
    path("models/<int:version_id>/<str:which>.png", dashboard.model_version_chart, name="model_version_chart"),
]
