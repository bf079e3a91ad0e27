"""Traps for the Compliance & Legal items."""

from __future__ import annotations

from traps.apis import Reply, serve
from traps.shipped import passes, run_shipped

SPA = Reply(body='<!doctype html><div id="root"></div><script src="/app.js"></script>')


async def test_c001_c002_an_spa_answering_200_everywhere_is_not_a_published_page(tmp_path):
    async with serve({"GET /{any:.*}": SPA}) as base:
        for item in ("C-001", "C-002"):
            assert not passes(await run_shipped(item, {"PUBLIC_SITE_URL": base}, tmp_path)), item
    pages = {
        "GET /privacy": Reply(body="<h1>Política de privacidad</h1><p>...</p>"),
        "GET /terms": Reply(body="<h1>Terms of Service</h1><p>...</p>"),
    }
    async with serve(pages) as base:
        for item in ("C-001", "C-002"):
            assert passes(await run_shipped(item, {"PUBLIC_SITE_URL": base}, tmp_path)), item


async def test_c001_a_redirect_to_the_homepage_is_not_the_policy(tmp_path):
    routes = {
        "GET /privacy": Reply(status=301, headers={"Location": "/"}),
        "GET /": Reply(body="<h1>Welcome</h1> read our privacy policy"),
    }
    async with serve(routes) as base:
        assert not passes(await run_shipped("C-001", {"PUBLIC_SITE_URL": base}, tmp_path))


async def test_c005_a_controls_heading_with_tbd_is_not_documented(tree):
    bad = tree("bad", {"docs/compliance/soc2.md": "# SOC 2\n\n## Controls\n\nTBD\n"})
    table = "".join(
        f"| CC{i}.{j} | Control {i}.{j}: access reviewed quarterly | Ops | wiki |\n"
        for i in range(1, 10)
        for j in range(1, 9)
    )
    good = tree("good", {"docs/compliance/soc2.md": f"# SOC 2\n\n## Controls\n\n{table}"})
    assert not passes(await run_shipped("C-005", {"APP_REPO": str(bad)}, bad))
    assert passes(await run_shipped("C-005", {"APP_REPO": str(good)}, good))


async def test_c006_a_quiet_weekend_is_fine_an_empty_audit_table_is_not(tmp_path, database):
    database.execute("CREATE TABLE audit_log (id serial, action text, created_at timestamptz)")
    env = {"DATABASE_URL": database.dsn()}
    assert not passes(await run_shipped("C-006", env, tmp_path))
    database.execute(
        "INSERT INTO audit_log (action, created_at) VALUES "
        "('booking.create', now() - interval '3 days')"
    )
    assert passes(await run_shipped("C-006", env, tmp_path))
