"""Optional error reporting: with SENTRY_DSN set, errors of the web process, workers and beat go to Sentry."""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # People's ids, addresses and cookies stay here: an error report does not need them.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )
