from django.db import migrations, models

from recognizer.migrations._operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("recognizer", "0010_number_submissions")]

    operations = [
        # The "Digits / Numbers" filter of lists and history, newest first, per owner.
        AddIndexWithoutLocking(
            model_name="submission",
            index=models.Index(fields=["owner", "kind", "-created_at"], name="submission_owner_kind"),
        ),
    ]
