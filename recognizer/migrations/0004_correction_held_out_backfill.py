"""Store which existing corrections are held out, as a hash of their id decided before the column existed."""

from django.db import migrations

BATCH = 2000


def store_held_out(apps, schema_editor):
    from recognizer.retraining.holdout import is_held_out

    Correction = apps.get_model("recognizer", "Correction")
    from recognizer import conf

    fraction = conf.retrain_holdout_fraction()
    ids = Correction.objects.order_by("pk").values_list("pk", flat=True)
    held_out = [pk for pk in ids.iterator(chunk_size=BATCH) if is_held_out(pk, fraction=fraction)]
    for start in range(0, len(held_out), BATCH):
        Correction.objects.filter(pk__in=held_out[start : start + BATCH]).update(held_out=True)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0003_correction_held_out")]

    operations = [migrations.RunPython(store_held_out, migrations.RunPython.noop)]
