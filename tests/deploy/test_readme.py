"""The README's values table matches values.schema.json and values.yaml."""

from __future__ import annotations

import json

import yaml

from tests.deploy import values_table


def test_readme_values_table_is_in_sync() -> None:
    readme = values_table.README.read_text()
    assert values_table.readme_with_table(readme) == readme, (
        "README.md's values table is stale: "
        "run `.venv/bin/python -m tests.deploy.values_table --write`"
    )


def test_every_value_is_in_the_schema_and_described() -> None:
    schema = json.loads((values_table.CHART / "values.schema.json").read_text())
    values = yaml.safe_load((values_table.CHART / "values.yaml").read_text())

    def walk(values: dict[str, object], schema: dict[str, object], path: str) -> None:
        properties = schema.get("properties", {})
        assert isinstance(properties, dict)
        for key, value in values.items():
            assert key in properties, f"{path}{key} is in values.yaml but not in the schema"
            assert "description" in properties[key], f"{path}{key} has no description"
            if isinstance(value, dict) and "properties" in properties[key]:
                walk(value, properties[key], f"{path}{key}.")

    walk(values, schema, "")
