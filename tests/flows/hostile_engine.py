"""A poll run by the engine alone, without Prefect, in a process of its own so a test can kill it.

Run as ``python -c "from tests.flows.hostile_engine import main; main()"`` with the JIRGA_*
environment of the test; it prints the run summary as JSON. It does what ``flows/poll.py`` does
(lease, sync, plan, poll), minus Prefect, so a kill lands in the same code and transactions.
"""

from __future__ import annotations

import datetime as dt
import json

from flows.lease import lease
from flows.polling import poll_once
from flows.summary import PollSummary
from jirga.config import load_watchlist
from jirga.settings import load_settings
from storage.facade import Storage

# flows.poll.POLL_LEASE, named here so that this process never imports Prefect.
POLL_LEASE = "poll_feeds"
LEASE_TTL = dt.timedelta(minutes=30)


def main() -> None:
    """Poll every due feed once and print the summary."""
    settings = load_settings()
    watchlist = load_watchlist(settings.config_dir)
    now = dt.datetime.now(dt.UTC)
    with Storage(settings.effective_database_url) as storage:
        storage.require_current_schema()
        with lease(storage, POLL_LEASE, now, LEASE_TTL) as holder:
            if holder is None:
                summary = PollSummary(
                    skipped=f"another poll is running ({storage.lock_holder(POLL_LEASE)})"
                )
            else:
                summary = poll_once(settings, storage, watchlist.feeds, watchlist.terms, now)
    print(json.dumps(summary.as_dict()))
