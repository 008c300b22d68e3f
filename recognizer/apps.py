from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class RecognizerConfig(AppConfig):
    name = "recognizer"
    verbose_name = "Digit recognizer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from recognizer.models import ModelVersion
        from recognizer.signals import model_versions_changed, register_initial_model, tokens_changed

        post_migrate.connect(register_initial_model, sender=self)
        # The per-process caches of recognizer/caching.py: forgotten everywhere when their rows change.
        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(tokens_changed, sender=Token, dispatch_uid=f"token-{name}")
            signal.connect(tokens_changed, sender=get_user_model(), dispatch_uid=f"user-{name}")
            signal.connect(model_versions_changed, sender=ModelVersion, dispatch_uid=f"model-version-{name}")
