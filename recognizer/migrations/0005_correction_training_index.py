from django.db import migrations, models

from recognizer.migrations._operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("recognizer", "0004_correction_held_out_backfill")]

    operations = [
        AddIndexWithoutLocking(
            model_name="correction",
            index=models.Index(fields=["review_state", "held_out", "trained_in"], name="correction_training"),
        ),
    ]
