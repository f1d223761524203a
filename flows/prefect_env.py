"""Prefect's environment for jirga's runs, set before Prefect is imported.

Without ``PREFECT_API_URL`` a run uses an ephemeral API (a temporary local server); its home is
under jirga's data directory, telemetry is off, and its console logging is kept quiet so the
terminal shows jirga's own output.
"""

from __future__ import annotations

import os

from jirga.settings import Settings


def configure_prefect(settings: Settings, *, verbose: bool = False) -> None:
    """Point Prefect at jirga's data dir and switch telemetry off (existing values are kept)."""
    home = (settings.data_dir / "prefect").resolve()
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        # The first start of an ephemeral server migrates its own database; on a small machine
        # that can take longer than Prefect's default 20 s.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
