"""Traps for the Documentation & Knowledge Transfer items."""

from __future__ import annotations

from traps.apis import Reply, serve
from traps.shipped import passes, run_shipped, sign

GUIDE = "\n".join(
    ["# Guide", "", "## Dashboards", "", "## Alerts", ""]
    + [f"{i}. When the {i}th alert fires, check the dashboard and the logs." for i in range(1, 25)]
)


async def test_doc001_a_link_named_architecture_is_not_a_section(tree):
    bad = tree("bad", {"README.md": "# Agente\n\nSee [Architecture](TODO).\n"})
    good = tree("good", {"README.md": "# Agente\n\n## Architecture\n\nAPI, worker, PostgreSQL.\n"})
    assert not passes(await run_shipped("DOC-001", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DOC-001", {"APP_REPO": str(good)}, good))


def openapi(*, routers: bool = True, docstrings: bool = True) -> dict:
    """The document FastAPI itself generates for a small API: with its routers included or
    not (``paths: {}``), its handlers with or without docstrings (operation descriptions)."""
    from fastapi import APIRouter, FastAPI

    app = FastAPI(title="Agente", version="1.0.0")
    api = APIRouter(prefix="/api/v1")

    @api.get("/items/")
    def read_items() -> list[str]:
        """Retrieve items."""
        return []

    def read_users() -> list[str]:
        return []

    if docstrings:
        read_users.__doc__ = "Retrieve users."
    api.add_api_route("/users/", read_users, methods=["GET"])
    if routers:
        app.include_router(api)
    return app.openapi()


async def doc002(document: dict, tmp_path):
    env = {"APP_OPENAPI_PATH": "/api/v1/openapi.json"}  # FastAPI behind an API prefix
    async with serve({"GET /api/v1/openapi.json": Reply(body=document)}) as base:
        return await run_shipped("DOC-002", {**env, "APP_URL": base}, tmp_path)


async def test_doc002_an_operation_without_a_description_is_not_complete(tmp_path):
    result = await doc002(openapi(docstrings=False), tmp_path)
    assert not passes(result)
    assert "operations without a description: 1, expected 0" in result.summary
    result = await doc002(openapi(), tmp_path)
    assert passes(result), result.summary
    assert result.summary.startswith("status 200 in ")
    assert result.summary.endswith(
        "; operations documented: 2, at least 1; operations without a description: 0"
    )


async def test_doc002_a_document_without_operations_documents_nothing(tmp_path):
    # FastAPI's document for an app whose routers were never included: valid OpenAPI, no
    # operation, so none lacks a description.
    empty = openapi(routers=False)
    assert empty["paths"] == {}
    result = await doc002(empty, tmp_path)
    assert not passes(result)
    assert "operations documented: 0, expected at least 1" in result.summary
    # Any JSON that is not an OpenAPI document (an error body served with 200) documents nothing.
    result = await doc002({"detail": "Not Found"}, tmp_path)
    assert not passes(result)
    assert "operations documented: 0, expected at least 1" in result.summary


async def test_doc003_is_o005s_runbook(tree):
    bad = tree("bad", {"docs/deployment-runbook.md": "TODO"})
    assert not passes(await run_shipped("DOC-003", {"APP_REPO": str(bad)}, bad))
    good = tree("good", {"docs/deployment-runbook.md": GUIDE})
    assert passes(await run_shipped("DOC-003", {"APP_REPO": str(good)}, good))


async def test_doc004_nine_runbooks_and_a_template_are_not_ten(tree):
    runbook = "# Runbook\n\n" + "1. Check the dashboard.\n" * 30
    files = {f"docs/runbooks/scenario-{i}.md": runbook for i in range(9)}
    bad = tree("bad", {**files, "docs/runbooks/_template.md": runbook})
    assert not passes(await run_shipped("DOC-004", {"APP_REPO": str(bad)}, bad))


async def test_doc005_doc006_stubs_are_not_guides(tree):
    for item, path in (
        ("DOC-005", "docs/monitoring-guide.md"),
        ("DOC-006", "docs/troubleshooting.md"),
    ):
        bad = tree(f"{item}-bad", {path: "# Guide\n\nComing soon.\n"})
        good = tree(f"{item}-good", {path: GUIDE})
        assert not passes(await run_shipped(item, {"APP_REPO": str(bad)}, bad)), item
        assert passes(await run_shipped(item, {"APP_REPO": str(good)}, good)), item


async def test_doc007_restore_mentioned_in_a_sentence_is_not_a_procedure(tree):
    bad = tree("bad", {"docs/RTO-RPO.md": "# DR\n\nWe can restore if needed.\n"})
    good = tree(
        "good",
        {
            "docs/RTO-RPO.md": "# DR\n\n## Restore procedure\n\n"
            "1. Fetch the dump.\n2. pg_restore it.\n"
        },
    )
    assert not passes(await run_shipped("DOC-007", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("DOC-007", {"APP_REPO": str(good)}, good))


async def test_doc009_doc010_a_signed_stub_is_not_complete(tree):
    for item, path in (("DOC-009", "docs/HANDOVER.md"), ("DOC-010", "docs/OPERATIONS-MANUAL.md")):
        bad = tree(f"{item}-bad", {path: "# Handover\n\nTODO\n"})
        good = tree(f"{item}-good", {path: GUIDE * 2})
        for repo in (bad, good):
            sign(repo, item)
        assert not passes(await run_shipped(item, {"APP_REPO": str(bad)}, bad)), item
        assert passes(await run_shipped(item, {"APP_REPO": str(good)}, good)), item
        unsigned = tree(f"{item}-unsigned", {path: GUIDE * 2})
        assert not passes(await run_shipped(item, {"APP_REPO": str(unsigned)}, unsigned)), item
