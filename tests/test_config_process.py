"""The config's process fields (issue 13): owners, sign-off roles, the launch time, intervals by
launch phase, remediation plans and post-launch tasks; what each gives and the exact message
for each mistake."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from exporter import config
from exporter.config import ConfigError
from exporter.launch import DEFAULT_ROLES, Phase

ITEM = '{id: A-1, title: a, priority: high, probe: {tcp: {target: "a:1"}}}'


def load(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return config.load(path, {})


def errors(tmp_path, text):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    return exc.value.errors


def test_owner_is_the_item_s_else_the_category_s_else_the_default(tmp_path):
    checklist = load(
        tmp_path,
        """
        defaults: {owner: sre}
        categories:
        - id: sec
          owner: security
          items:
          - {id: A-1, title: a, priority: high, owner: " payments  team ", applicable: false}
          - {id: A-2, title: b, priority: high, applicable: false}
        - id: ops
          items:
          - {id: B-1, title: c, priority: high, applicable: false}
        """,
    )
    assert {i.id: i.owner for i in checklist.items} == {
        "A-1": "payments team",
        "A-2": "security",
        "B-1": "sre",
    }


def test_no_owner_anywhere_is_empty(tmp_path):
    checklist = load(tmp_path, f"categories: [{{id: a, items: [{ITEM}]}}]\n")
    assert checklist.items[0].owner == ""


def test_signoff_roles_default_to_p020_s_five(tmp_path):
    checklist = load(tmp_path, f"categories: [{{id: a, items: [{ITEM}]}}]\n")
    assert checklist.roles == DEFAULT_ROLES
    assert checklist.roles == (
        "Engineering Lead",
        "Operations Lead",
        "Security Lead",
        "Product Lead",
        "CTO",
    )


def test_signoff_roles_as_configured(tmp_path):
    checklist = load(
        tmp_path,
        f"signoff: [Engineering Lead, '  Data  Protection Officer']\n"
        f"categories: [{{id: a, items: [{ITEM}]}}]\n",
    )
    assert checklist.roles == ("Engineering Lead", "Data Protection Officer")


def test_launch_time_as_yaml_timestamp_or_text(tmp_path):
    expected = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC).timestamp()
    for value in ("2026-12-01T14:00:00Z", "'2026-12-01 14:00'", "2026-12-01T15:00:00+01:00"):
        checklist = load(tmp_path, f"launch: {value}\ncategories: [{{id: a, items: [{ITEM}]}}]\n")
        assert checklist.launch_at == expected, value
    assert load(tmp_path, f"categories: [{{id: a, items: [{ITEM}]}}]\n").launch_at is None


def test_intervals_merge_the_category_s_with_the_item_s(tmp_path):
    checklist = load(
        tmp_path,
        """
        defaults: {interval: 5m, timeout: 10s}
        categories:
        - id: a
          intervals: {first_48h: 1h, first_week: 2h}
          items:
          - id: A-1
            title: a
            priority: high
            intervals: {first_48h: 15m}
            probe: {tcp: {target: "a:1"}}
          - {id: A-2, title: b, priority: high, probe: {tcp: {target: "a:1"}}}
        """,
    )
    first, second = checklist.items
    assert first.intervals == {Phase.FIRST_48H: 900.0, Phase.FIRST_WEEK: 7200.0}
    assert second.intervals == {Phase.FIRST_48H: 3600.0, Phase.FIRST_WEEK: 7200.0}
    assert first.interval == 300.0


def test_a_change_of_intervals_reschedules_the_item(tmp_path):
    one = load(tmp_path, f"categories: [{{id: a, items: [{ITEM}]}}]\n").items[0]
    two = load(
        tmp_path, "categories: [{id: a, intervals: {first_48h: 1h}, items: [" + ITEM + "]}]\n"
    ).items[0]
    assert one.schedule_key() != two.schedule_key()


def test_post_launch_tasks_and_remediation(tmp_path):
    checklist = load(
        tmp_path,
        """
        categories:
        - id: final
          items:
          - id: F-1
            title: smoke
            priority: critical
            remediation: " https://tickets.example/OPS-1 "
            probe: {tcp: {target: "a:1"}}
        - id: post_launch
          title: Post-Launch Validation
          items:
          - {id: PL-001, title: retro, priority: medium, phase: first_week, applicable: false}
        """,
    )
    task = checklist.item("PL-001")
    assert task is not None and task.phase is Phase.FIRST_WEEK and task.post_launch
    item = checklist.item("F-1")
    assert item is not None and item.phase is None and not item.post_launch
    assert item.remediation == "https://tickets.example/OPS-1"
    assert [i.id for i in checklist.launch_items] == ["F-1"]


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "defaults: {owner: 5}\n",
            "config.yaml: defaults: owner must be a non-empty string naming a team or person "
            "(got 5)",
        ),
        (
            "defaults: {owners: x}\n",
            "config.yaml: defaults: owners is not a known field (known: interval, timeout, owner)",
        ),
        (
            "signoff: CTO\n",
            'config.yaml: signoff: must be a list of roles such as "Engineering Lead" (got "CTO")',
        ),
        (
            "signoff: [CTO, '']\n",
            'config.yaml: signoff: [1] must be a role\'s name (got "")',
        ),
        (
            "signoff: [Security Lead, security  lead]\n",
            'config.yaml: signoff: [1] "security  lead" is the same role as [0]',
        ),
        (
            "launch: next tuesday\n",
            "config.yaml: launch: must be a date-time in UTC such as 2026-12-01T14:00:00Z "
            '(got "next tuesday")',
        ),
    ],
)
def test_bad_process_field_at_the_top(tmp_path, text, message):
    assert errors(tmp_path, text + f"categories: [{{id: a, items: [{ITEM}]}}]\n") == [message]


@pytest.mark.parametrize(
    "category,item,message",
    [
        (
            "owner: ''",
            "",
            "config.yaml: categories[0] (a): owner must be a non-empty string naming a team or "
            'person (got "")',
        ),
        (
            "intervals: {launch_day: 1h}",
            "",
            'config.yaml: categories[0] (a): intervals: "launch_day" is not a launch phase '
            "(known: pre_launch, first_48h, first_week, first_month, steady)",
        ),
        (
            "intervals: 1h",
            "",
            "config.yaml: categories[0] (a): intervals must be a mapping of launch phases "
            "(pre_launch, first_48h, first_week, first_month, steady) to durations",
        ),
        (
            "",
            "intervals: {first_48h: soon}",
            "config.yaml: categories[0].items[0] (A-1): intervals.first_48h must be a duration "
            'such as 30s, 5m or 1h (got "soon")',
        ),
        (
            "",
            "intervals: {first_48h: }",
            "config.yaml: categories[0].items[0] (A-1): intervals.first_48h must be a duration "
            "such as 15m or 1h (got null)",
        ),
        (
            "intervals: {first_48h: 5s}",
            "",
            "config.yaml: categories[0].items[0] (A-1): intervals.first_48h (5s) must not be "
            "shorter than timeout (10s)",
        ),
        (
            "",
            "phase: steady",
            "config.yaml: categories[0].items[0] (A-1): phase must be one of first_48h, "
            'first_week, first_month (got "steady")',
        ),
        (
            "",
            "remediation: [OPS-1]",
            "config.yaml: categories[0].items[0] (A-1): remediation must be a ticket URL or a "
            "sentence (got a list)",
        ),
        (
            "",
            "owner: [a, b]",
            "config.yaml: categories[0].items[0] (A-1): owner must be a non-empty string naming "
            "a team or person (got a list)",
        ),
    ],
)
def test_bad_process_field_in_a_category_or_item(tmp_path, category, item, message):
    text = f"""
        defaults: {{timeout: 10s}}
        categories:
        - id: a
          {category}
          items:
          - id: A-1
            title: a
            priority: high
            {item}
            probe: {{tcp: {{target: "a:1"}}}}
        """
    assert errors(tmp_path, text) == [message]
