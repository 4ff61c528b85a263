"""Dagster: one asset per segment, with the segments it reads as upstream assets.

Set SEGW_PROJECT_DIR (the folder holding segwarehouse.yml) and load this module with
`dagster dev -f dagster_segments.py`. Materializing a subset builds just those segments; each
asset gets its size, entries and exits as metadata. A failed segment fails the run.
"""
import os

from dagster import AssetExecutionContext, AssetSpec, Definitions, MaterializeResult, multi_asset

from segwarehouse.orchestrate import run_segments, segment_nodes

PROJECT_DIR = os.environ.get("SEGW_PROJECT_DIR", "/srv/segments")

SPECS = [AssetSpec(key=node["name"], deps=node["depends_on"], group_name=node["category"] or "segments",
                   description=node["description"], tags={tag: "" for tag in node["tags"]})
         for node in segment_nodes(PROJECT_DIR)]


@multi_asset(specs=SPECS, can_subset=True)
def segments(context: AssetExecutionContext):
    selected = [key.path[-1] for key in context.selected_asset_keys]
    outcome = run_segments(PROJECT_DIR, select=selected)
    for result in outcome.results:
        yield MaterializeResult(asset_key=result["name"], metadata={
            "size": result["size"], "entered": result["entered"], "exited": result["exited"]})


defs = Definitions(assets=[segments])
