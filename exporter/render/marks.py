"""The checklist document's marks, written once: each status as P020's legend writes it, and the
red marker of critical items. The Markdown report, its process sections and the importer use
these."""

from __future__ import annotations

from probes.result import Status

# The document's legend, in its order.
MARKS = {
    Status.PASS: "✅ PASS",
    Status.PARTIAL: "🟡 PARTIAL",
    Status.FAIL: "❌ FAIL",
    Status.PENDING: "⏸️ PENDING",
    Status.NA: "N/A",
}
CRITICAL_MARKER = "🔴"
