"""Item IDs are restricted at load to an alphabet that maps each one to its own page and file."""

from __future__ import annotations

import pytest

from exporter import config
from exporter.config import ConfigError

CONFIG = """\
categories:
  - id: c
    title: C
    items:
      - {{id: {id}, title: T, priority: high, probe: {{attestation: {{file: a.yaml}}}}}}
"""


@pytest.mark.parametrize(
    "item_id",
    ['"S/001"', '"S 001"', '"S:001"', '"../etc"', '".hidden"', '"-x"', '"Ü-1"', '"S-1\\n"'],
)
def test_an_id_outside_the_alphabet_is_a_located_error(write_config, item_id):
    path = write_config(CONFIG.format(id=item_id))
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    [line] = exc.value.errors
    assert line.startswith(
        'config.yaml: categories[0].items[0]: id must be letters, digits, "-", "_" and ".", '
        "starting with a letter or digit, up to 100 characters (got "
    ), line


def test_an_id_longer_than_a_file_name_allows_is_refused(write_config):
    with pytest.raises(ConfigError, match="up to 100 characters"):
        config.load(write_config(CONFIG.format(id="S" * 101)), {})
    assert config.load(write_config(CONFIG.format(id="S" * 100)), {}).items[0].id == "S" * 100


@pytest.mark.parametrize("item_id", ["S-001", "a.b_c-1", '"001"', '"1.10"', "T"])
def test_ids_in_the_alphabet_load(write_config, item_id):
    loaded = config.load(write_config(CONFIG.format(id=item_id)), {})
    assert loaded.items[0].id == item_id.strip('"')
