"""Traps for the Team Readiness items (T-003 shares O-007's probe: test_operations.py)."""

from __future__ import annotations

from traps.apis import Reply, serve
from traps.shipped import passes, run_shipped


def users(*people: tuple[str, int]) -> dict[str, Reply]:
    return {
        "GET /users": Reply(
            body={
                "users": [
                    {"id": f"U{i}", "role": role, "contact_methods": [{"type": "phone"}] * contacts}
                    for i, (role, contacts) in enumerate(people)
                ],
                "more": False,
            }
        )
    }


async def test_t006_an_owner_and_two_observers_are_not_three_responders(tmp_path):
    env = {"PAGERDUTY_TOKEN": "u+" + "p" * 18, "PAGERDUTY_TEAM_ID": "PTEAM1"}
    async with serve(users(("owner", 1), ("observer", 1), ("observer", 1))) as base:
        assert not passes(await run_shipped("T-006", {**env, "PAGERDUTY_API_URL": base}, tmp_path))
    async with serve(users(("user", 1), ("user", 2), ("limited_user", 1), ("user", 0))) as base:
        result = await run_shipped("T-006", {**env, "PAGERDUTY_API_URL": base}, tmp_path)
        assert passes(result), result.summary


async def test_t007_admin_and_one_person_are_not_two_named_people(tmp_path):
    env = {"GRAFANA_TOKEN": "glsa_" + "t" * 32}
    for logins, should_pass in ((["admin", "alice"], False), (["admin", "alice", "bob"], True)):
        body = [{"login": login, "role": "Viewer"} for login in logins]
        async with serve({"GET /api/org/users": Reply(body=body)}) as base:
            result = await run_shipped("T-007", {**env, "GRAFANA_URL": base}, tmp_path)
            assert passes(result) is should_pass, result.summary
