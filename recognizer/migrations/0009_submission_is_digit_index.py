from django.db import migrations, models

from recognizer.migrations._operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("recognizer", "0008_correction_label_not_a_digit")]

    operations = [
        # The history's "Digits / Not digits" filter, newest first, per owner.
        AddIndexWithoutLocking(
            model_name="submission",
            index=models.Index(fields=["owner", "is_digit", "-created_at"], name="submission_owner_is_digit"),
        ),
    ]
