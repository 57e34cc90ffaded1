from pathlib import Path

import pytest

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError

BASE = {
    "tenants": {
        "leipzig": {
            "collections": {
                "trees": {"source": {"connector": "csv", "path": "t.csv", "x": "X", "y": "Y"}}
            }
        }
    }
}


def test_minimal_config_parses_with_defaults(tmp_path: Path):
    loaded = parse_config(BASE, "x.yaml", tmp_path)
    assert loaded.config.server.default_limit == 10
    assert loaded.config.tenants["leipzig"].collections["trees"].source.options()["x"] == "X"


def test_env_variables_expand_and_missing_ones_name_the_key(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TREES", "/data/trees.csv")
    data = {
        "tenants": {
            "leipzig": {
                "collections": {"trees": {"source": {"connector": "csv", "path": "${TREES}"}}}
            }
        }
    }
    loaded = parse_config(data, "x.yaml", tmp_path)
    assert loaded.config.tenants["leipzig"].collections["trees"].source.options()["path"] == (
        "/data/trees.csv"
    )
    monkeypatch.delenv("TREES")
    with pytest.raises(
        ConfigError, match=r"tenants.leipzig.collections.trees.source.path: .*TREES"
    ):
        parse_config(data, "x.yaml", tmp_path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tenants": {"API": {}}}, "lower-case slug"),
        ({"tenants": {"collections": {}}}, "reserved"),
        ({"server": {"default_limit": 0}}, "server.default_limit"),
        ({"server": {"max_limt": 5}}, "server.max_limt: unknown key"),
        (
            {
                "tenants": {
                    "a": {
                        "collections": {
                            "t": {"profile": "street-trees", "source": {"connector": "csv"}}
                        }
                    }
                }
            },
            "needs a 'mapping'",
        ),
        (
            {"tenants": {"a": {"collections": {"t": {"source": {}}}}}},
            "tenants.a.collections.t.source.connector: required key is missing",
        ),
        (
            {
                "tenants": {
                    "a": {
                        "collections": {
                            "t": {
                                "source": {"connector": "csv"},
                                "mapping": {"properties": {"x": {"from": "a", "constant": 1}}},
                            }
                        }
                    }
                }
            },
            "exactly one of",
        ),
    ],
)
def test_wrong_configs_name_file_key_and_expectation(tmp_path: Path, data, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(data, "city.yaml", tmp_path)
    assert str(info.value).startswith("city.yaml")


def test_yaml_syntax_errors_name_line_and_column(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  title: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
