"""Text that comes from targets, made safe to print: one line, no terminal or display controls.

Summaries, evidence and titles hold what servers, tools and documents said. Printed raw, a
summary could colour or clear a terminal (escape sequences), reorder what follows it (Unicode
bidirectional controls), or start a line of its own that reads like ours ("Decision: GO").
``one_line`` takes all of that out; the formats escape their own syntax on top (Markdown).
"""

from __future__ import annotations

import re

# Terminal escape sequences whole (CSI ... final byte, OSC ... BEL or ST, two-byte ESC x),
# then any control character left, C0, DEL and C1, and the bidirectional controls.
ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI in its one-byte C1 form
)
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object) -> str:
    """``text`` on one line with its whitespace collapsed and every control taken out."""
    cleaned = CONTROLS.sub("", ESCAPES.sub("", str(text)))
    return " ".join(cleaned.split())
