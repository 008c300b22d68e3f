from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0002_submission_needs_review")]

    operations = [
        migrations.AddField(
            model_name="correction",
            name="held_out",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="retrainjob",
            name="stage",
            field=models.CharField(
                blank=True,
                choices=[
                    ("queued", "Queued"),
                    ("loading data", "Loading data"),
                    ("evaluating base model", "Evaluating the base model"),
                    ("fine-tuning", "Fine-tuning"),
                    ("blending with the base model", "Blending with the base model"),
                    ("blended", "Blended"),
                    ("evaluating new model", "Evaluating the new model"),
                    ("gate", "Gate"),
                    ("registered", "Registered"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                ],
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="retrainjob",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("manual", "Manual"),
                    ("api", "API"),
                    ("admin", "Admin"),
                    ("command", "Command"),
                    ("auto", "Automatic"),
                ],
                default="manual",
                max_length=20,
            ),
        ),
    ]
