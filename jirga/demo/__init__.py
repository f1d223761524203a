"""The offline demo's sample coverage: invented outlets with a week of dated items
(``outlets/*.toml``), and the feed documents they serve on each day of that week.

Plain data and pure functions, like the rest of the engine: ``flows/demo.py`` serves the
documents on a loopback server and replays the week through the real flows.
"""
