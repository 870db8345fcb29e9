import pytest


@pytest.fixture(autouse=True)
def _fresh_state():
    """Unit tests are pure: no app, no database."""
    yield
