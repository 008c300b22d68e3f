"""A correction may say "not a digit": its label becomes nullable, NULL meaning exactly that."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0007_honest_answers")]

    operations = [
        migrations.RemoveConstraint(model_name="correction", name="correction_label_0_9"),
        migrations.AlterField(
            model_name="correction",
            name="label",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, help_text="The digit drawn, 0 to 9; empty when the picture is not a digit."
            ),
        ),
        migrations.AddConstraint(
            model_name="correction",
            constraint=models.CheckConstraint(
                condition=models.Q(label__lte=9) | models.Q(label__isnull=True),
                name="correction_label_0_9_or_not_a_digit",
            ),
        ),
    ]
