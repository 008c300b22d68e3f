from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecognizerConfig(AppConfig):
    name = "recognizer"
    verbose_name = "Digit recognizer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recognizer.signals import register_initial_model

        post_migrate.connect(register_initial_model, sender=self)
