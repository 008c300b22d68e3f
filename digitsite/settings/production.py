"""Production settings: secure cookies, HSTS, compressed static files.

Select with DJANGO_SETTINGS_MODULE=digitsite.settings.production; SECRET_KEY
and ALLOWED_HOSTS must then come from the environment.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOG_LEVEL, REST_FRAMEWORK, STORAGES, env, logging_settings

DEBUG = False
# No default here: base.py's localhost list is for development, and a production
# site that answers only to localhost (or to any host) is a misconfiguration to stop at start.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set the ALLOWED_HOSTS environment variable: the site's host names, comma-separated "
        "(for example digits.example.com)."
    )
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production sits behind the TLS proxy that header comes from. Without counting it, every client would have the
# proxy's address, and the log-in lockout and the throttles would treat everyone as one client.
NUM_PROXIES = env.int("NUM_PROXIES", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": NUM_PROXIES}
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Opt in only: once browsers ship the domain in their preload list, every subdomain is
# HTTPS-only for months and leaving the list is slow, so the owner of the domain decides.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # check --deploy warns when preload is off (W021); off is the deliberate default here.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# JSON lines for the log collector (digitsite/logs.py); LOG_FORMAT=plain to read them by eye.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = logging_settings(log_format=LOG_FORMAT, level=LOG_LEVEL)
