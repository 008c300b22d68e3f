"""Number submissions: a kind on each submission, the number read, one row per digit, and numbers as corrections.

Schema only: existing rows are digits (the default), and nothing needs filling in. The (owner, kind) index of
the history's filter is added apart, without locking the table (0011).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0009_submission_is_digit_index")]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="kind",
            field=models.CharField(choices=[("digit", "Digit"), ("number", "Number")], default="digit", max_length=6),
        ),
        migrations.AddField(
            model_name="submission",
            name="number",
            field=models.CharField(blank=True, max_length=16, null=True),
        ),
        migrations.AlterField(
            model_name="submission",
            name="pixels",
            field=models.BinaryField(
                help_text="The normalized 28x28 model input, row by row; empty for a number.", max_length=784
            ),
        ),
        migrations.CreateModel(
            name="SubmissionDigit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "submission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="digits",
                        to="recognizer.submission",
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(help_text="0 for the leftmost digit.")),
                ("x", models.PositiveIntegerField()),
                ("y", models.PositiveIntegerField()),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                (
                    "pixels",
                    models.BinaryField(
                        help_text="The digit's normalized 28x28 model input, row by row.", max_length=784
                    ),
                ),
                ("predicted_digit", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("confidence", models.FloatField(blank=True, null=True)),
                ("probabilities", models.JSONField(blank=True, null=True)),
                ("is_digit", models.BooleanField(blank=True, null=True)),
                (
                    "reason",
                    models.CharField(
                        blank=True,
                        choices=[("not_a_digit", "Not a digit"), ("several_digits", "Several digits")],
                        max_length=20,
                    ),
                ),
            ],
            options={"ordering": ["submission", "position"]},
        ),
        migrations.AddConstraint(
            model_name="submissiondigit",
            constraint=models.UniqueConstraint(fields=("submission", "position"), name="submission_digit_position"),
        ),
        migrations.AddConstraint(
            model_name="submissiondigit",
            constraint=models.CheckConstraint(
                condition=models.Q(predicted_digit__isnull=True) | models.Q(predicted_digit__lte=9),
                name="submission_digit_predicted_0_9",
            ),
        ),
        migrations.AddField(
            model_name="correction",
            name="number",
            field=models.CharField(
                blank=True, help_text="A number submission's true digits, left to right.", max_length=16, null=True
            ),
        ),
        migrations.AddConstraint(
            model_name="correction",
            constraint=models.CheckConstraint(
                condition=models.Q(label__isnull=True) | models.Q(number__isnull=True),
                name="correction_label_or_number",
            ),
        ),
    ]
