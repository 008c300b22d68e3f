"""The retraining pipeline as plain functions: no ORM, no settings.

`holdout` decides which corrections are held out for the gate, `pipeline`
turns corrections into a fine-tuned model with its metrics, and `gate`
decides whether that model may replace its parent. `recognizer.services.retraining`
feeds them rows and records what they decide.
"""
