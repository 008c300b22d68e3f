"""A number's correction can mark pieces "not a digit", and an admin can reject some digits' labels.

Schema only: both are lists of positions, empty for every existing correction (the default), so nothing needs
filling in; neither is filtered on by an index.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0011_submission_kind_index")]

    operations = [
        migrations.AddField(
            model_name="correction",
            name="not_digits",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="A number's pieces that are not digits: their positions, ascending.",
            ),
        ),
        migrations.AddField(
            model_name="correction",
            name="rejected_digits",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="A number's pieces whose labels an admin rejected while accepting the rest: their positions.",
            ),
        ),
    ]
