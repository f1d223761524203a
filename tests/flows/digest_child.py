"""One digest run (the engine's, without Prefect) in a process of its own, for the tests that kill
a run or start two at once: settings from the environment, the day and ``now`` from the
arguments; prints what the run did as JSON."""

from __future__ import annotations

import datetime as dt
import json
import sys

from flows.digesting import run_digest
from jirga.settings import load_settings


def main() -> None:
    day = dt.date.fromisoformat(sys.argv[1])
    now = dt.datetime.fromisoformat(sys.argv[2])
    run = run_digest(load_settings(), day=day, now=now)
    print(json.dumps(run.as_dict()), flush=True)


if __name__ == "__main__":
    main()
