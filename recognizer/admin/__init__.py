"""Admin for the recognizer: the review queue, corrections, model versions and retraining.

Staff review corrections here, pick what the model learns from, start a
retraining and choose which model version serves. Every change goes through
`recognizer.services`; the pages only parse input and show results.

One module per model admin; importing them runs their `@admin.register`.
"""

from recognizer.admin import corrections, model_versions, retrain_jobs, submissions  # noqa: F401
