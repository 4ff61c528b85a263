"""The `segw` command line: parses options, calls the library, renders results with rich."""
from __future__ import annotations

import json
import sys

import click

from .errors import SegwError

EXIT_OK, EXIT_PARTIAL, EXIT_BAD_INPUT = 0, 1, 2


def console(stderr: bool = False):
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(exc: SegwError) -> None:
    from rich.markup import escape
    from .project.jinja import SECRETS

    text = SECRETS.mask(str(exc))
    first, _, rest = text.partition("\n")
    console(stderr=True).print(f"[bold red]error:[/] {escape(first)}" + (f"\n{escape(rest)}" if rest else ""))
    sys.exit(exc.exit_code)


class Command(click.Command):
    """Turns SegwError into one message and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SegwError as exc:
            fail(exc)


project_options = [
    click.option("--project-dir", default=".", show_default=True, type=click.Path(file_okay=False),
                 help="Folder holding segwarehouse.yml, models/ and segments/."),
    click.option("--profiles-dir", default=None, type=click.Path(file_okay=False),
                 help="Folder holding profiles.yml (default: the project, then ~/.dbt)."),
    click.option("--target", "-t", default=None, help="Target of the profile to use."),
    click.option("--vars", "vars_text", default=None, help="YAML mapping overriding `vars:`."),
]


def with_project(func):
    for option in reversed(project_options):
        func = option(func)
    return func


def load(project_dir, profiles_dir, target, vars_text):
    from .project.loader import load_project

    variables = None
    if vars_text:
        from ruamel.yaml import YAML
        try:
            variables = YAML(typ="safe").load(vars_text)
        except Exception:
            raise SegwError("--vars is not valid YAML", hint="e.g. --vars '{vip_floor: 500}'") from None
        if not isinstance(variables, dict):
            raise SegwError("--vars must be a mapping", hint="e.g. --vars '{vip_floor: 500}'")
    return load_project(project_dir, target, profiles_dir, variables)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segwarehouse")
def main():
    """segwarehouse: customer segments declared in YAML, built inside your warehouse."""


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate segments at this UTC timestamp (default: now).")
@click.option("--select", "-s", multiple=True, help="Build only these segments (names, comma separated).")
@click.option("--lock-timeout", type=float, default=None,
              help="Seconds to wait for another writer of the same segment (default 300).")
@click.option("--no-wait", is_flag=True, help="Do not wait for another writer: fail that segment at once.")
def build(project_dir, profiles_dir, target, vars_text, as_of, select, lock_timeout, no_wait):
    """Build models, then every (or each selected) segment."""
    from .runner import parse_as_of

    from .runner import select_segments, validate_static

    project = load(project_dir, profiles_dir, target, vars_text)
    moment = parse_as_of(as_of)
    select_segments(project, select)
    validate_static(project, moment)  # bad input stops here: one message, nothing written
    console().print(f"Building [bold]{project.config.name}[/] on {project.target.type} target "
                    f"'{project.target.name}' as of {moment:%Y-%m-%d %H:%M:%S} UTC")
    result = run_and_report(project, moment, select, lock_timeout, no_wait, validate=False)
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@click.option("--dialect", "-d", default=None, help="SQL dialect (default: the target's).")
@click.option("--as-of", default=None, help="Timestamp the windows are computed from (default: now).")
@click.option("--write/--print", "write", default=None,
              help="Write target/compiled/<dialect>/ (default when no SEGMENT is named) or print.")
@click.argument("segments", nargs=-1)
def compile(project_dir, profiles_dir, target, vars_text, dialect, as_of, write, segments):
    """Compile segments to SQL for a dialect."""
    from .compiler.dialects import DIALECTS
    from .compiler.segment import compile_segment
    from .runner import parse_as_of, select_segments

    project = load(project_dir, profiles_dir, target, vars_text)
    dialect = dialect or project.dialect
    if dialect not in DIALECTS:
        raise SegwError(f"unknown dialect '{dialect}'", hint=f"one of: {', '.join(DIALECTS)}")
    moment = parse_as_of(as_of)
    names = select_segments(project, segments)
    write = (not segments) if write is None else write
    out = console()
    folder = project.root / "target" / "compiled" / dialect
    for name in names:
        sql = compile_segment(project, project.segments[name], moment, dialect) + ";\n"
        if write:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.sql").write_text(sql)
        else:
            out.print(f"-- {name} ({dialect})", style="dim")
            click.echo(sql)
    if write:
        out.print(f"compiled {len(names)} segments to {folder}")


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@click.option("--limit", default=10, show_default=True, help="How many members to show.")
@click.argument("segment")
def preview(project_dir, profiles_dir, target, vars_text, as_of, limit, segment):
    """Show a segment's size and a sample of members; writes nothing."""
    from .preview import preview_segment
    from .report import preview_table
    from .runner import parse_as_of, select_segments

    project = load(project_dir, profiles_dir, target, vars_text)
    select_segments(project, [segment])
    result = preview_segment(project, project.segments[segment], parse_as_of(as_of), limit)
    console().print(preview_table(result))


@main.command(name="ls", cls=Command)
@with_project
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_segments(project_dir, profiles_dir, target, vars_text, as_json):
    """List segments and static lists."""
    from .report import segments_table

    project = load(project_dir, profiles_dir, target, vars_text)
    if as_json:
        click.echo(json.dumps([
            {"name": s.name, "entity": s.entity, "materialized": s.materialized,
             "schedule": project.schedule_of(s), "category": s.category, "tags": list(s.tags),
             "title": s.title} for s in project.segments.values()], indent=2))
        return
    console().print(segments_table(project))


@main.command(cls=Command)
@with_project
@click.option("--offline", is_flag=True, help="Do not connect to the warehouse to check columns.")
def validate(project_dir, profiles_dir, target, vars_text, offline):
    """Check the project: files, names, references, SQL; columns too when the warehouse answers."""
    from .runner import parse_as_of, validate_static

    project = load(project_dir, profiles_dir, target, vars_text)
    validate_static(project, parse_as_of(None))
    checked = "offline"
    if not offline:
        from .validate import check_columns_live
        checked = check_columns_live(project)
    console().print(f"[green]ok[/]: {len(project.segments)} segments, {len(project.lists)} lists, "
                    f"{len(project.models)} models ({checked})")


lock_options = [
    click.option("--lock-timeout", type=float, default=None,
                 help="Seconds to wait for another writer of the same segment (default: lock_timeout "
                      "in segwarehouse.yml, 300)."),
    click.option("--no-wait", is_flag=True, help="Do not wait for another writer: fail that segment at once."),
]


def with_lock_options(func):
    for option in reversed(lock_options):
        func = option(func)
    return func


def lock_wait(project, lock_timeout=None, no_wait=False) -> float:
    """Seconds to wait for another writer: --no-wait, --lock-timeout, else segwarehouse.yml."""
    return 0 if no_wait else project.config.lock_timeout if lock_timeout is None else lock_timeout


def run_and_report(project, moment, select, lock_timeout=None, no_wait=False, full_refresh=False,
                   **kwargs):
    """Build with progress and the results table; returns the RunResult."""
    from .report import Progress, results_table
    from .runner import build as run_build

    out = console()
    with Progress(out) as progress:
        result = run_build(project, moment, select, events=progress,
                           lock_timeout=0 if no_wait else lock_timeout, full_refresh=full_refresh, **kwargs)
    if result.segments:
        out.print(results_table(result))
    failed = len(result.failed)
    out.print(f"[bold {'red' if failed else 'green'}]run {result.run_id}: "
              f"{len(result.segments) - failed} built, {failed} failed[/]")
    for item in result.failed:
        console(stderr=True).print(f"[red]segment {item.segment} failed:[/] {item.error}")
    return result


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
def run(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, as_of):
    """Build only the segments that are due by their schedule (and what they read)."""
    from .runner import connect_waiting, parse_as_of
    from .schedule import Clock, due_segments, read_state

    project = load(project_dir, profiles_dir, target, vars_text)
    now = Clock().now()
    adapter = connect_waiting(project, lock_wait(project, lock_timeout, no_wait))
    try:
        due = due_segments(project, read_state(adapter, project), now)
    finally:
        adapter.close()
    if not due:
        from .runner import RunResult, new_run_id, write_run_results
        write_run_results(project, RunResult(new_run_id(now), now, now, now))  # no stale results
        console().print("nothing is due")
        return
    console().print(f"due: {', '.join(due)}")
    result = run_and_report(project, parse_as_of(as_of), due, lock_timeout, no_wait)
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--full-refresh", is_flag=True,
              help="First forget the segments' memberships, history and changes, then build anew.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a full refresh.")
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@click.argument("segments", nargs=-1, required=True)
def rebuild(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, full_refresh, yes,
            as_of, segments):
    """Build the named segments now, whatever their schedule ("Rebuild segment")."""
    from .runner import parse_as_of, select_segments

    project = load(project_dir, profiles_dir, target, vars_text)
    names = select_segments(project, segments)
    moment = parse_as_of(as_of)
    if full_refresh and not yes:
        from .materialize import segment_counts
        from .warehouse import connect
        adapter = connect(project.target)
        try:
            counts = {name: segment_counts(adapter, project, name) for name in names}
        finally:
            adapter.close()
        for name, per_table in counts.items():
            detail = ", ".join(f"{n:,} {t}" for t, n in per_table.items()) or "nothing recorded yet"
            console().print(f"{name}: {detail}")
        if not sys.stdin.isatty() or not click.confirm(
                "Delete this history and rebuild from scratch? Syncs reading membership_changes "
                "should resync these segments afterwards", default=False):
            raise SegwError("full refresh not confirmed; nothing was changed",
                            hint="answer yes at the prompt, or pass --yes")
    result = run_and_report(project, moment, names, lock_timeout, no_wait, full_refresh=full_refresh)
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--max-sleep", default=60.0, show_default=True, help="Longest sleep between checks, seconds.")
def schedule(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, max_sleep):
    """Run in the foreground, building each segment when its schedule says; SIGTERM stops cleanly."""
    from .materialize import utcnow
    from .runner import build as run_build
    from .runner import connect_waiting
    from .schedule import Clock, StopFlag, read_state, scheduler_loop, due_segments

    stop = StopFlag()
    stop.install()

    def log(line: str) -> None:
        click.echo(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {line}", err=False)
        sys.stdout.flush()

    def loader():
        return load(project_dir, profiles_dir, target, vars_text)

    def states_of(project):  # a DuckDB file busy with another build is waited for, like build does
        adapter = connect_waiting(project, lock_wait(project, lock_timeout, no_wait))
        try:
            return read_state(adapter, project)
        finally:
            adapter.close()

    def run_due(project, now):
        due = due_segments(project, states_of(project), now, retry_failed=False)
        if not due:  # built by another process meanwhile; an empty select would build everything
            return None
        result = run_build(project, None, due, should_stop=stop, lock_timeout=0 if no_wait else lock_timeout)
        for item in result.segments:
            detail = (f"size={item.size} entered={item.entered} exited={item.exited}"
                      if item.status == "success" else f"error={item.error.splitlines()[0]!r}")
            log(f"run={result.run_id} segment={item.segment} status={item.status} {detail}")
        return result

    log("scheduler started")
    try:
        code = scheduler_loop(loader, run_due, states_of, Clock(), stop, log, max_sleep=max_sleep)
    except SegwError as exc:
        log(f"stopped: {exc.message}")
        raise
    log("scheduler stopped")
    sys.exit(code)


@main.command(cls=Command)
@with_project
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(project_dir, profiles_dir, target, vars_text, as_json):
    """Per segment: schedule, last run, next due time, size and last error."""
    from .report import status_table
    from .schedule import Clock, next_due_at, read_state
    from .warehouse import connect

    project = load(project_dir, profiles_dir, target, vars_text)
    now = Clock().now()
    adapter = connect(project.target)
    try:
        states = read_state(adapter, project)
    finally:
        adapter.close()
    due = next_due_at(project, states, now)
    if as_json:
        def stamp(value):
            return value.isoformat() if value else None
        click.echo(json.dumps([{
            "segment": name, "schedule": project.schedule_of(project.segments[name]),
            "last_run_at": stamp(s.last_run_at), "last_status": s.last_status,
            "last_success_at": stamp(s.last_success_at), "next_due_at": stamp(due[name]),
            "size": s.size, "last_error": s.last_error} for name, s in states.items()], indent=2))
        return
    console().print(status_table(project, states, due, now))


if __name__ == "__main__":
    main()
