from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from recognizer.web import accounts, pages

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/dashboard/", include("recognizer.web.dashboard_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("recognizer.api.urls")),
    path("", include("recognizer.urls")),
]

if settings.DEBUG:
    # Production serves media from the storage backend or the front server.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
