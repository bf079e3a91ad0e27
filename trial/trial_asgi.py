"""The template's ASGI app with Prometheus metrics added, as a deployment would wrap it.

The app's own code is not changed: this module imports it and adds
prometheus-fastapi-instrumentator (http_requests_total with a status label,
http_request_duration_seconds) and a /metrics route kept out of the OpenAPI document.
"""

from app.main import app
from prometheus_fastapi_instrumentator import Instrumentator

Instrumentator().instrument(app).expose(app, include_in_schema=False, tags=["metrics"])
# The template mounts its front end at "/" first; the metrics route must be matched before it.
app.router.routes.insert(0, app.router.routes.pop())

__all__ = ["app"]
