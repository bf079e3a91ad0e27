"""The process helpers start real programs: a quick check that they work here."""

from support.procs import start_alertmanager, start_prometheus


def test_prometheus_and_alertmanager_start(tmp_path):
    prom, prom_url = start_prometheus(tmp_path / "prom", "global: {scrape_interval: 1s}\n")
    am, am_url = start_alertmanager(
        tmp_path / "am", "route: {receiver: none}\nreceivers: [{name: none}]\n"
    )
    try:
        assert prom_url.startswith("http://127.0.0.1:")
        assert am_url.startswith("http://127.0.0.1:")
    finally:
        assert prom.stop() == 0
        assert am.stop() == 0
