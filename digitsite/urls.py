from django.contrib import admin
from django.urls import include, path

from recognizer.web import accounts, pages

# No media URLs, with DEBUG on or off: people's drawings are served only by views that
# check their owner (recognizer.web.images, the API's image endpoint), never as public files.
urlpatterns = [
    path("", pages.landing, name="landing"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/dashboard/", include("recognizer.web.dashboard_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("recognizer.api.urls")),
    path("", include("recognizer.urls")),
]
