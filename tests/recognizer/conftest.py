import pytest

from recognizer.services.submissions import submission_create


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service the way a request does: its on-commit work runs when it returns.

    Tests run inside one transaction that never commits, so without this the
    prediction that `transaction.on_commit` sends would never start.
    """

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


@pytest.fixture
def create_submission(committed):
    def create(**kwargs):
        submission = committed(submission_create, **kwargs)
        submission.refresh_from_db()
        return submission

    return create
