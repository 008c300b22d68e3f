"""Benchmarks run with pytest for its fixtures, but are not part of the test suite.

Run one explicitly, e.g. `.venv/bin/pytest -s benchmarks/admin_thumbnails.py`;
they print figures and assert nothing about time.
"""

from tests.admin.conftest import make_version, versions  # noqa: F401
from tests.conftest import password, staff_client, staff_user, user  # noqa: F401
