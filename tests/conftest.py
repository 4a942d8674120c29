"""Shared test setup: tests/ on sys.path (for the op-case tables), verification of
every pass, a private compile cache, and the list of backends to test."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("LAMINA_VERIFY", "1")
if "LAMINA_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["LAMINA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "lamina-test-cache")

import pytest  # noqa: E402


def compiled_backends() -> list[str]:
    """Backends the op tables run on: the interpreter and every registered compiler."""
    import lamina  # noqa: F401
    from lamina.runtime import backends

    return [b for b in ("interp", "c", "triton") if b in backends.available()]


@pytest.fixture(params=compiled_backends())
def backend(request):
    return request.param
