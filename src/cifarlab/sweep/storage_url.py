"""The sweep storage's URL: where it comes from, and how it is shown.

A shared study's URL may carry a password (`postgresql+psycopg2://alice:PASSWORD@host/db`).
cifarlab never prints or writes it: every message shows the URL with the password as ***.
Better still, keep it off the command line, where `ps` and shell histories keep it: give
the URL in CIFARLAB_STORAGE, or leave the password out and let libpq find it in ~/.pgpass
or PGPASSWORD (docs/sweeps.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ENVIRONMENT = "CIFARLAB_STORAGE"


def default_storage(sweep_dir: Path, study: str) -> str:
    """An SQLite file SWEEP_DIR/STUDY.db: nothing to start, one machine."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(sweep_dir / f'{study}.db').resolve()}"


def storage_url(given: str | None, sweep_dir: Path, study: str) -> str:
    """--storage, else $CIFARLAB_STORAGE, else the default SQLite file."""
    return given or os.environ.get(ENVIRONMENT) or default_storage(sweep_dir, study)


def _password(url: str) -> str | None:
    match = re.match(r"^[^:/]+://[^/@]*:(?P<password>.*)@[^@]*$", url.split("?", 1)[0])
    return match.group("password") if match and match.group("password") else None


def masked(url: str) -> str:
    """The URL with its password (if any) as ***."""
    return hide_password(url, url)


def hide_password(text: str, url: str) -> str:
    """`text` (a message that may quote `url` or parts of it) with the URL's password as ***."""
    password = _password(url)
    return text.replace(password, "***") if password else text
