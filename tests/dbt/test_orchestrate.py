"""The orchestration helper (segwarehouse.orchestrate) and the Airflow / Dagster examples in
docs/examples, run against the example shop. airflow and dagster are too heavy for the test extra:
the examples are imported with minimal stand-ins for the few names they use, so their own code
(and the library calls in it) runs for real."""
from __future__ import annotations

import importlib.util
import shutil
import sys
import types
from pathlib import Path

import pytest

from segwarehouse.orchestrate import SegmentsFailed, run_segments, segment_nodes

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """The example shop of the repository, copied (its DuckDB file lands in the copy)."""
    root = tmp_path_factory.mktemp("shop")
    for name in ("models", "seeds", "segments", "macros"):
        shutil.copytree(REPO / name, root / name)
    for name in ("profiles.yml", "segwarehouse.yml"):
        shutil.copy(REPO / name, root / name)
    return root


def load_example(name: str, monkeypatch, fakes: dict[str, types.ModuleType]):
    for module_name, module in fakes.items():
        monkeypatch.setitem(sys.modules, module_name, module)
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_segments_builds_a_selection_and_reports_it(shop):
    nodes = {n["name"]: n for n in segment_nodes(shop, select=["+lifecycle__vips"])}
    assert set(nodes) == {"champions", "vips", "lifecycle__vips"}
    assert nodes["lifecycle__vips"]["depends_on"] == ["champions", "vips"]
    outcome = run_segments(shop, select=["vips"], as_of="2024-06-30")
    assert outcome.exit_code == 0 and outcome.failed == []
    assert [r["name"] for r in outcome.results] == ["vips"] and outcome.results[0]["size"] > 0
    assert outcome.summary()["segments"]["vips"]["status"] == "success"
    assert run_segments(shop, select=["tag:nothing"]).results == []  # nothing selected: nothing built


def test_a_failed_segment_fails_the_task(shop, tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(shop, project)
    path = project / "segments" / "value.yml"
    path.write_text(path.read_text() + "  - name: broken\n    entity: customer\n"
                                       "    rules: {sql: \"CAST(first_name AS INTEGER) > 0\"}\n")
    with pytest.raises(SegmentsFailed) as caught:
        run_segments(project, select=["broken", "vips"], as_of="2024-06-30")
    assert caught.value.outcome.failed == ["broken"] and "broken" in str(caught.value)
    assert {r["name"]: r["status"] for r in caught.value.outcome.results} == {"broken": "error", "vips": "success"}


def test_airflow_example_builds_the_due_segments(shop, monkeypatch):
    calls = []
    decorators = types.ModuleType("airflow.decorators")

    def dag(**kwargs):
        assert kwargs["schedule"] and kwargs["catchup"] is False
        return lambda func: func

    def task(**kwargs):
        def wrap(func):
            def run(*args):
                calls.append(func(*args))
                return calls[-1]
            return run
        return wrap
    decorators.dag, decorators.task = dag, task
    monkeypatch.setenv("SEGW_PROJECT_DIR", str(shop))
    load_example("airflow_segments", monkeypatch, {"airflow": types.ModuleType("airflow"),
                                                    "airflow.decorators": decorators})
    [summary] = calls  # importing the DAG file ran the one task once (the stand-in runs tasks at once)
    assert summary["exit_code"] == 0 and "engaged_newsletter_readers" in summary["segments"]
    assert all(s["status"] == "success" for s in summary["segments"].values())


def test_dagster_example_materializes_a_subset_of_segment_assets(shop, monkeypatch):
    dagster = types.ModuleType("dagster")

    class Record:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    class AssetSpec(Record):
        pass

    class MaterializeResult(Record):
        pass

    def multi_asset(specs, can_subset):
        assert can_subset
        return lambda func: types.SimpleNamespace(fn=func, specs=specs)

    dagster.AssetSpec, dagster.MaterializeResult, dagster.multi_asset = AssetSpec, MaterializeResult, multi_asset
    dagster.Definitions, dagster.AssetExecutionContext = Record, object
    monkeypatch.setenv("SEGW_PROJECT_DIR", str(shop))
    module = load_example("dagster_segments", monkeypatch, {"dagster": dagster})
    specs = {spec.key: spec for spec in module.segments.specs}
    assert specs["lifecycle__vips"].deps == ["champions", "vips"] and "email" in specs["vips"].tags
    context = types.SimpleNamespace(selected_asset_keys=[types.SimpleNamespace(path=["vips"]),
                                                         types.SimpleNamespace(path=["champions"])])
    results = {r.asset_key: r.metadata for r in module.segments.fn(context)}
    assert set(results) == {"vips", "champions"} and results["vips"]["size"] > 0
