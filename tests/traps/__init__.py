"""Trap tests for the shipped config.yaml: for each item, evidence that looks fine but is not
(the item must not PASS) beside evidence that is fine, sometimes in an unusual way (it must
PASS), built from real artifacts: JUnit written by pytest, ruff and mypy, coverage.py's XML, git
repositories, PostgreSQL, Prometheus and Alertmanager on loopback.

Layout, so that each engineer adds their items' traps beside the others without conflicts:
- ``shipped.py``: ``run_shipped(item_id, env, base_dir)`` loads ONE item from config.yaml,
  exactly as shipped, with its variables pointed at a fixture, and runs it through the engine.
- ``artifacts.py`` (reports), ``apis.py`` (fake HTTP APIs), ``stacks.py`` (Prometheus,
  Alertmanager), ``databases.py`` (PostgreSQL): how fixtures are built.
- ``test_<category>.py``: one file per checklist category; ``test_commands.py``: no shipped
  item runs the application's tests, migrations or anything that writes.

A trap that the shipped probe cannot pass yet, because the option that closes it is being built,
is marked ``coming(...)``: a strict xfail, so it fails loudly the day the option and the item
change land, and the marker comes off.
"""
