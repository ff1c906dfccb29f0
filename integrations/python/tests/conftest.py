"""pytest fixtures; the helpers themselves live in tsutil.py."""

import pytest

import tsutil  # noqa: F401  (puts the package under test on sys.path first)


@pytest.fixture
def write(tmp_path):
    """write("name.py", "source") -> Path, creating parent directories."""
    def _write(name, text, encoding="utf-8"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding=encoding)
        return path
    return _write
