"""Fixtures of the tools tests (explain, funnel, overlap, plan, docs, init)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from toolshop import AS_OF, FILES


@pytest.fixture
def shop(engine, project_factory):
    """The small shop, built once as of AS_OF on the engine."""
    project = project_factory(engine, FILES)
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [s.error for s in result.segments]
    return project


def segw(project, *args):
    """Run `segw ARGS --project-dir ROOT`; a traceback is a test failure, a SystemExit is not."""
    result = CliRunner().invoke(main_cli(), [*args, "--project-dir", str(project.root)],
                                env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def main_cli():
    from segwarehouse.cli import main
    return main


@pytest.fixture
def run_segw():
    return segw
