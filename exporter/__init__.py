"""readiness-exporter: a production-readiness checklist that keeps checking itself."""

__version__ = "0.1.0"
