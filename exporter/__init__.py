"""readiness-exporter: a production-readiness checklist that keeps checking itself."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

__version__ = "0.1.0"

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Build:
    """What ``--version`` and ``readiness_exporter_build_info`` say about this build."""

    version: str
    revision: str  # the git commit, or "unknown"
    branch: str  # the git branch, or "unknown"
    python: str  # the Python version running it

    def line(self, program: str = "readiness-exporter") -> str:
        """``--version`` output, in the shape Prometheus and its exporters print it."""
        return (
            f"{program}, version {self.version} "
            f"(branch: {self.branch}, revision: {self.revision})\n"
            f"  python version:   {self.python}"
        )


def _git(*args: str) -> str:
    """One line of git's output about the checkout this package runs from, or "" without one."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, git found on PATH
            ["git", "-C", str(Path(__file__).resolve().parent), *args],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@functools.cache
def build() -> Build:
    """This build: revision and branch from the environment the image sets, else from git.

    The container image has no git: its Dockerfile sets ``READINESS_EXPORTER_REVISION`` and
    ``READINESS_EXPORTER_BRANCH`` from build arguments. A source checkout asks git once.
    """
    revision = os.environ.get("READINESS_EXPORTER_REVISION") or _git("rev-parse", "HEAD")
    branch = os.environ.get("READINESS_EXPORTER_BRANCH") or _git(
        "rev-parse", "--abbrev-ref", "HEAD"
    )
    return Build(
        __version__,
        revision or UNKNOWN,
        branch if branch and branch != "HEAD" else UNKNOWN,  # "HEAD": a detached checkout
        platform.python_version(),
    )
