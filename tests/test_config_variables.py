"""``${VAR}`` in places the shipped config puts them: an unset one leaves the item PENDING.

The shipped config makes every target a variable (issue 11, "Adoption"); some sit where the
loader used to check the value at once and refuse the whole config, such as a JSON assertion's
value (``value: ${WHATSAPP_APP_ID}``). Like any value that needs an unset variable, it waits.
"""

from __future__ import annotations

from support.probing import checklist


def test_an_assertion_value_from_an_unset_variable_leaves_the_item_pending(tmp_path):
    probe = {
        "http": {
            "url": "https://graph.example/${WABA_ID}/subscribed_apps",
            "json": [
                {"path": "data[].id", "op": "contains", "value": "${APP_ID}"},
                {"path": "data", "op": "length", "value": ">= 1"},
            ],
        }
    }
    (item,) = checklist(probe, tmp_path, env={"WABA_ID": "42"}).items
    assert item.missing == ("APP_ID",)
    assert not item.probed

    (item,) = checklist(probe, tmp_path, env={"WABA_ID": "42", "APP_ID": "7"}).items
    assert item.probed
    assert [str(a) for a in item.spec.json] == ['data[].id contains "7"', "data length >= 1"]


def test_a_threshold_from_a_variable_goes_through_the_comparison_language(tmp_path):
    probe = {"promql": {"url": "http://p:9090", "query": "up", "expect": ">= ${MIN:-2}"}}
    (item,) = checklist(probe, tmp_path).items
    assert str(item.spec.expect) == ">= 2"
    (item,) = checklist(probe, tmp_path, env={"MIN": "3"}).items
    assert str(item.spec.expect) == ">= 3"
