"""Store which existing corrections are held out, as a hash of their id decided before the column existed.

The hash is written out here, not imported: a migration must do tomorrow what it did today.
"""

import hashlib

from django.conf import settings
from django.db import migrations

BATCH = 2000


def _held_out(correction_id: int, fraction: float) -> bool:
    digest = hashlib.sha256(f"correction:{correction_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def store_held_out(apps, schema_editor):
    Correction = apps.get_model("recognizer", "Correction")
    fraction = getattr(settings, "RECOGNIZER", {}).get("RETRAIN_HOLDOUT_FRACTION", 0.2)
    ids = Correction.objects.order_by("pk").values_list("pk", flat=True)
    held_out = [pk for pk in ids.iterator(chunk_size=BATCH) if _held_out(pk, fraction)]
    for start in range(0, len(held_out), BATCH):
        Correction.objects.filter(pk__in=held_out[start : start + BATCH]).update(held_out=True)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0003_correction_held_out")]

    operations = [migrations.RunPython(store_held_out, migrations.RunPython.noop)]
