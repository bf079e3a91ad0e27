"""The exporter's HTTP side: the app and its routes, the status board's pages, the web config."""
