"""Benchmarks of readiness-exporter against blackbox_exporter on loopback (``make bench``)."""
