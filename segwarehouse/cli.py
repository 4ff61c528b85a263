"""The `segw` command line: parses options, calls the library, renders results with rich."""
from __future__ import annotations

import json
import sys

import click

from .errors import SegwError

EXIT_OK, EXIT_PARTIAL, EXIT_BAD_INPUT = 0, 1, 2


def console(stderr: bool = False):
    from .jsonlog import make_console  # rich on a terminal, plain lines in a pipe, or JSON lines
    return make_console(stderr)


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
        from .artifacts import Invocation
        Invocation.start(ctx.info_name, ctx.params)  # one invocation_id for its logs and artifacts
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
    click.option("--log-format", type=click.Choice(["text", "json"]), default=None, expose_value=False,
                 is_eager=True, callback=lambda ctx, param, value: _log_format(value),
                 help="text (default), or json: one JSON object per line, for orchestrators."),
]


def _log_format(value, reset: bool = False) -> None:
    from .jsonlog import set_format
    set_format(value or ("text" if reset else None))


selection_options = [
    click.option("--select", "-s", "select", multiple=True,
                 help="Segments to use: names, wildcards (lapsed_*), tag:X, category:X, entity:X, "
                      "state:modified, with +/+ for upstream/downstream (space or comma separated)."),
    click.option("--exclude", multiple=True, help="Segments to leave out (same syntax as --select)."),
    click.option("--state", "state_dir", default=None, type=click.Path(),
                 help="A previous target/ folder to compare with, for state:modified."),
]
run_options = [
    click.option("--fail-fast", "-x", is_flag=True, help="Stop at the first failed segment; the rest are skipped."),
    click.option("--threads", type=click.IntRange(1, 64), default=None,
                 help="Segments built at once on engines with concurrent writers (default: the "
                      "target's `threads:`, else 1); DuckDB and Spark build one at a time."),
]


def with_options(options):
    def wrap(func):
        for option in reversed(options):
            func = option(func)
        return func
    return wrap


def choose(project, select=(), exclude=(), state_dir=None, named=()) -> list[str]:
    """The segments the selectors name, in build order (every segment when none is given)."""
    from .selection import select as pick
    return pick(project, [*named, *select], exclude, state_dir)


def threads_of(project, threads) -> int:
    from .operations import threads_for
    return threads_for(project, threads)


def nothing_selected(project) -> None:
    """A selection that matches no segment: say so, exit 0, and leave no stale run results."""
    from .operations import record_empty_run
    record_empty_run(project)
    console().print("nothing selected: no segment matches the selection")


def with_project(func):
    for option in reversed(project_options):
        func = option(func)
    return func


def load_for_run(project_dir, profiles_dir, target, vars_text):
    """Load for a command that builds: a project that does not load still leaves run results."""
    from .operations import load_for_run as loading
    return loading(lambda: load(project_dir, profiles_dir, target, vars_text), project_dir)


def load(project_dir, profiles_dir, target, vars_text):
    from .project.loader import load_project

    variables = None
    if vars_text:
        from ruamel.yaml import YAML
        try:
            variables = YAML(typ="safe").load(vars_text)
        except Exception as exc:  # a syntax error, or an impossible date such as 2020-02-30
            detail = " ".join(str(getattr(exc, "problem", None) or exc).split())[:200]
            raise SegwError(f"--vars is not valid YAML: {detail}",
                            hint="e.g. --vars '{vip_floor: 500}'; quote dates you mean as text") from None
        if not isinstance(variables, dict):
            raise SegwError("--vars must be a mapping", hint="e.g. --vars '{vip_floor: 500}'")
    return load_project(project_dir, target, profiles_dir, variables)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segwarehouse")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None, expose_value=False,
              is_eager=True, callback=lambda ctx, param, value: _log_format(value, reset=True),
              envvar="SEGW_LOG_FORMAT", help="text (default), or json: one JSON object per line.")
@click.option("--verbose", "-v", is_flag=True,
              help="Log every SQL statement with its duration, and each segment's timings, to stderr.")
def main(verbose=False):
    """segwarehouse: customer segments declared in YAML, built inside your warehouse."""
    from .logs import configure
    configure(verbose)


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate segments at this UTC timestamp (default: now).")
@with_options(selection_options)
@with_options(run_options)
@click.option("--lock-timeout", type=float, default=None,
              help="Seconds to wait for another writer of the same segment (default 300).")
@click.option("--no-wait", is_flag=True, help="Do not wait for another writer: fail that segment at once.")
@click.option("--warn-error", is_flag=True, help="Treat warnings (values that never occur, ...) as errors.")
def build(project_dir, profiles_dir, target, vars_text, as_of, select, exclude, state_dir, fail_fast, threads,
          lock_timeout, no_wait, warn_error):
    """Build models, then every (or each selected) segment."""
    from .runner import parse_as_of

    project = load_for_run(project_dir, profiles_dir, target, vars_text)
    moment = parse_as_of(as_of)
    selecting = bool(select or exclude)
    select = choose(project, select, exclude, state_dir)
    if not select and selecting:  # a project without segments still builds its models
        return nothing_selected(project)
    console().print(f"Building [bold]{project.config.name}[/] on {project.target.type} target "
                    f"'{project.target.name}' as of {moment:%Y-%m-%d %H:%M:%S} UTC")
    from .project.profiles import missing_duckdb_file
    new_file = missing_duckdb_file(project.target)
    if new_file:
        console().print(f"creating a new DuckDB warehouse at {new_file}")
    result = run_and_report(project, moment if as_of else None, select, lock_timeout, no_wait,
                            warn_error=warn_error, fail_fast=fail_fast, threads=threads_of(project, threads))
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@click.option("--dialect", "-d", default=None, help="SQL dialect (default: the target's).")
@click.option("--as-of", default=None, help="Timestamp the windows are computed from (default: now).")
@click.option("--write/--print", "write", default=None,
              help="Write target/compiled/<dialect>/ (default when no SEGMENT is named) or print.")
@with_options(selection_options)
@click.argument("segments", nargs=-1)
def compile(project_dir, profiles_dir, target, vars_text, dialect, as_of, write, select, exclude, state_dir,
            segments):
    """Compile segments to SQL for a dialect; writes target/manifest.json too."""
    import gc

    from .artifacts import compiled_hashes, write_manifest
    from .catalog import HASH_AS_OF
    from .compiler.dialects import DIALECTS
    from .compiling import compiled
    from .runner import parse_as_of

    project = load(project_dir, profiles_dir, target, vars_text)
    dialect = dialect or project.dialect
    if dialect not in DIALECTS:
        raise SegwError(f"unknown dialect '{dialect}'", hint=f"one of: {', '.join(DIALECTS)}")
    moment = parse_as_of(as_of)
    names = choose(project, select, exclude, state_dir, segments)
    write = (not segments) if write is None else write
    out = console()
    folder = project.root / "target" / "compiled" / dialect
    if write and names:
        folder.mkdir(parents=True, exist_ok=True)
    hash_sql: dict[str, str] = {}  # SQL the manifest's compiled_sql_hash needs, compiled here once
    known = compiled_hashes(project)  # ... unless the last manifest has it
    gc.freeze()  # the loaded project is long-lived: the collector need not scan it again and again
    try:
        for name, sql, hashes in compiled(project, names, moment, dialect, known, HASH_AS_OF,
                                          folder if write else None):
            hash_sql.update(hashes)
            if not write:
                out.print(f"-- {name} ({dialect})", style="dim")
                click.echo(sql + ";\n")
    finally:
        gc.unfreeze()
        write_manifest(project, hash_sql, known)
    if write:
        out.print(f"compiled {len(names)} segments to {folder}")


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many members to show.")
@click.argument("segment")
def preview(project_dir, profiles_dir, target, vars_text, as_of, limit, segment):
    """Show a segment's size and a sample of members; writes nothing."""
    from .errors import did_you_mean
    from .preview import preview_segment
    from .project.profiles import require_existing_warehouse
    from .report import preview_table
    from .runner import parse_as_of

    project = load(project_dir, profiles_dir, target, vars_text)
    if segment not in project.segments:
        raise SegwError(f"unknown segment '{segment}'",
                        hint=did_you_mean(segment, project.segments) or "see `segw ls` for the segments")
    moment = parse_as_of(as_of)
    require_existing_warehouse(project.target)
    result = preview_segment(project, project.segments[segment], moment, limit)
    console().print(preview_table(result))


@main.command(name="ls", cls=Command)
@with_project
@with_options(selection_options)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--output", "-o", type=click.Choice(["table", "name", "json"]), default=None,
              help="table (default), name (one segment name per line, for scripts) or json.")
def list_segments(project_dir, profiles_dir, target, vars_text, select, exclude, state_dir, as_json, output):
    """List segments and static lists (with --select/--exclude: the selected segments)."""
    from .report import segments_table

    project = load(project_dir, profiles_dir, target, vars_text)
    selecting = bool(select or exclude)
    chosen = choose(project, select, exclude, state_dir)
    output = output or ("json" if as_json else "table")
    if output == "name":
        for name in chosen:
            click.echo(name)
        return
    if output == "json":
        from .incremental import static_mode

        click.echo(json.dumps([
            {"name": s.name, "entity": s.entity, "materialized": s.materialized,
             "evaluates": dict(zip(("mode", "reason"), static_mode(project, s))),
             "schedule": project.schedule_of(s), "category": s.category, "tags": list(s.tags),
             "title": s.title} for s in (project.segments[n] for n in chosen)], indent=2))
        return
    if selecting:
        import copy
        project = copy.copy(project)  # the table shows the selection only
        project.segments = {name: project.segments[name] for name in chosen}
        project.lists = {}
    console().print(segments_table(project))


@main.command(cls=Command)
@with_project
@click.option("--offline", is_flag=True, help="Do not connect to the warehouse to check columns.")
@click.option("--warn-error", is_flag=True, help="Treat warnings as errors (exit 2).")
def validate(project_dir, profiles_dir, target, vars_text, offline, warn_error):
    """Check the project: files, names, references, SQL; with the warehouse also columns, their
    types, `sql:` conditions, and warnings about values that never occur in the data."""
    from rich.markup import escape

    from .runner import parse_as_of, validate_static

    project = load(project_dir, profiles_dir, target, vars_text)
    moment = parse_as_of(None)
    validate_static(project, moment)
    checked, warnings = "offline", []
    if not offline:
        from .project.profiles import require_existing_warehouse
        from .validate import check_columns_live, collect_warnings
        from .warehouse import connect

        require_existing_warehouse(project.target)
        try:
            adapter = connect(project.target)
        except SegwError as exc:  # unreachable (exit 1 during build) is a failed validation here
            raise SegwError(exc.message, exc.location, exc.hint) from None
        try:
            checked = check_columns_live(project, moment, adapter)
            warnings = collect_warnings(project, adapter)
        finally:
            adapter.close()
    for warning in warnings:
        console(stderr=True).print(f"[yellow]warning:[/] {escape(str(warning))}")
    if warnings and warn_error:
        raise SegwError(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} (--warn-error)",
                        hint="fix the values the warnings name, or run without --warn-error")
    console().print(f"[green]ok[/]: {len(project.segments)} segments, {len(project.lists)} lists, "
                    f"{len(project.models)} models ({checked})"
                    + (f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""))


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
    from .operations import lock_wait as wait
    return wait(project, lock_timeout, no_wait)


def run_and_report(project, moment, select, lock_timeout=None, no_wait=False, full_refresh=False,
                   **kwargs):
    """Build with progress and the results table; returns the RunResult."""
    from rich.markup import escape

    from .jsonlog import JsonEvents, json_mode
    from .report import Progress, results_table
    from .runner import build as run_build

    out = console()
    with (JsonEvents() if json_mode() else Progress(out)) as progress:
        result = run_build(project, moment, select, events=progress,
                           lock_timeout=0 if no_wait else lock_timeout, full_refresh=full_refresh, **kwargs)
    if result.segments and not json_mode():  # JSON logs had one line per segment already
        out.print(results_table(result))
    failed = len(result.failed)
    skipped = sum(1 for s in result.segments if s.status == "skipped")
    built = len(result.segments) - failed - skipped
    out.print(f"[bold {'red' if failed else 'green'}]run {result.run_id}: {built} built, {failed} failed"
              + (f", {skipped} skipped" if skipped else "") + "[/]")
    for item in result.failed:
        console(stderr=True).print(f"[red]segment {item.segment} failed:[/] {escape(item.error or '')}")
    for item in result.segments:
        if item.status == "skipped":
            console(stderr=True).print(f"[yellow]segment {item.segment} skipped:[/] {escape(item.error or '')}")
    for warning in result.warnings:
        console(stderr=True).print(f"[yellow]warning:[/] {escape(warning)}")
    report_orphans(result.orphans)
    return result


def report_orphans(names) -> None:
    if names:
        console(stderr=True).print(
            f"[yellow]stored but no longer defined:[/] {', '.join(names)} — their members stay until "
            f"you run `segw retire {' '.join(names)}` (every member exits, the relation is dropped)")


@main.command(cls=Command)
@with_project
@with_lock_options
@with_options(selection_options)
@with_options(run_options)
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
def run(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, select, exclude, state_dir,
        fail_fast, threads, as_of):
    """Build only the segments that are due by their schedule (and what they read); with --select,
    only the due segments among the selection."""
    from .operations import due_now, record_empty_run
    from .runner import parse_as_of
    from .schedule import Clock

    project = load_for_run(project_dir, profiles_dir, target, vars_text)
    chosen = choose(project, select, exclude, state_dir)
    now = Clock().now()
    moment = parse_as_of(as_of) if as_of else None
    due = due_now(project, chosen, lock_wait(project, lock_timeout, no_wait), now)
    if not due:
        record_empty_run(project, now)  # no stale results
        console().print("nothing is due")
        return
    console().print(f"due: {', '.join(due)}")
    result = run_and_report(project, moment, due, lock_timeout, no_wait, fail_fast=fail_fast,
                            threads=threads_of(project, threads))
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--full-refresh", is_flag=True,
              help="First forget the segments' memberships, history and changes, then build anew.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a full refresh.")
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@with_options(selection_options)
@with_options(run_options)
@click.argument("segments", nargs=-1)
def rebuild(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, full_refresh, yes,
            as_of, select, exclude, state_dir, fail_fast, threads, segments):
    """Build the named (or --select'ed) segments now, whatever their schedule ("Rebuild segment")."""
    from .runner import parse_as_of

    if not segments and not select:
        raise SegwError("name the segments to rebuild", hint="e.g. `segw rebuild vips` or "
                        "`segw rebuild --select tag:email`; `segw build` builds everything")
    project = load_for_run(project_dir, profiles_dir, target, vars_text)
    names = choose(project, select, exclude, state_dir, segments)
    if not names:
        return nothing_selected(project)
    moment = parse_as_of(as_of) if as_of else None
    if full_refresh and not yes:
        from .operations import stored_counts
        for name, per_table in stored_counts(project, names).items():
            detail = ", ".join(f"{n:,} {t}" for t, n in per_table.items()) or "nothing recorded yet"
            console().print(f"{name}: {detail}")
        if not sys.stdin.isatty() or not click.confirm(
                "Recreate these segments' relations from scratch? Members, history and the change "
                "feed are kept; only real entries and exits are announced", default=False):
            raise SegwError("full refresh not confirmed; nothing was changed",
                            hint="answer yes at the prompt, or pass --yes")
    result = run_and_report(project, moment, names, lock_timeout, no_wait, full_refresh=full_refresh,
                            fail_fast=fail_fast, threads=threads_of(project, threads))
    sys.exit(result.exit_code)


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--max-sleep", default=60.0, show_default=True, help="Longest sleep between checks, seconds.")
def schedule(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, max_sleep):
    """Run in the foreground, building each segment when its schedule says; SIGTERM stops cleanly."""
    from .materialize import utcnow
    from .operations import schedule_forever
    from .schedule import StopFlag

    stop = StopFlag()
    stop.install()

    def log(line: str) -> None:
        from .jsonlog import emit, json_mode
        if json_mode():
            return emit("SchedulerLog", line)
        click.echo(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {line}", err=False)
        sys.stdout.flush()

    def loader():
        return load(project_dir, profiles_dir, target, vars_text)

    sys.exit(schedule_forever(loader, log, stop, lock_timeout, no_wait, max_sleep))


@main.command(cls=Command)
@with_project
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(project_dir, profiles_dir, target, vars_text, as_json):
    """Per segment: schedule, last run, next due time, size and last error."""
    from .operations import status as read_status
    from .report import status_table

    project = load(project_dir, profiles_dir, target, vars_text)
    report = read_status(project)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    console().print(status_table(project, report.states, report.due, report.now, report.modes))
    report_orphans(report.orphans)


@main.command(cls=Command)
@with_project
@with_lock_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask before retiring.")
@click.argument("segments", nargs=-1, required=True)
def retire(project_dir, profiles_dir, target, vars_text, lock_timeout, no_wait, yes, segments):
    """Retire segments removed from the project: every member exits, history closes, the relation
    is dropped and the catalog marks them retired. A rename is a retire plus a new segment."""
    from .runner import retire as retire_segments

    project = load(project_dir, profiles_dir, target, vars_text)
    names = [part for name in segments for part in name.replace(",", " ").split()]
    for name in names:
        if name in project.segments:
            raise SegwError(f"segment '{name}' is still defined", project.segments[name].loc,
                            "delete it from segments/ first (a rename is a retire plus a new segment)")
    if not yes and (not sys.stdin.isatty() or not click.confirm(
            f"Retire {', '.join(names)}? Every member gets an `exited` change that syncs will apply",
            default=False)):
        raise SegwError("retire not confirmed; nothing was changed", hint="answer yes at the prompt, or pass --yes")
    exited = retire_segments(project, names, lock_wait(project, lock_timeout, no_wait))
    for name, count in exited.items():
        console().print(f"retired [bold]{name}[/]: {count:,} members exited")



# -- see before you ship: explain, funnel, overlap, plan, docs, init ------------------------------
def _connect_existing(project):
    from .project.profiles import require_existing_warehouse
    from .warehouse import connect

    require_existing_warehouse(project.target)
    return connect(project.target)


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None,
              help="Evaluate at this UTC timestamp (default: the as_of of the segment's last build, else now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
@click.argument("segment")
@click.argument("key")
def explain(project_dir, profiles_dir, target, vars_text, as_of, as_json, segment, key):
    """Why one entity is (or is not) a member: the rule tree, every node TRUE/FALSE with the values
    that decided it, computed by the warehouse; writes nothing."""
    from .columns import Catalog, check_segment_columns
    from .explain import default_as_of, explain as explain_key, explanation_tree, require_segment
    from .runner import parse_as_of

    project = load(project_dir, profiles_dir, target, vars_text)
    seg = require_segment(project, segment)
    moment = parse_as_of(as_of) if as_of else None
    adapter = _connect_existing(project)
    try:
        check_segment_columns(project, seg, Catalog(adapter))
        if moment is None and seg.materialized != "view":
            moment = default_as_of(adapter, project, seg) or parse_as_of(None)
        result = explain_key(adapter, project, seg, key, moment)
    finally:
        adapter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
        return
    out = console()
    out.print(explanation_tree(result))
    if result.stored is not None:
        agrees = (result.stored == "member") == result.member
        entered = f" since {result.entered_at:%Y-%m-%d %H:%M:%S}" if result.entered_at else ""
        out.print(f"stored membership: {result.stored}{entered}"
                  + ("" if agrees else " [yellow](differs: the data or the as_of changed since the last "
                                       "build)[/]"))


@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.argument("segment")
def funnel(project_dir, profiles_dir, target, vars_text, as_of, as_json, segment):
    """How many entity rows pass each top-level condition: in turn and alone (`all:`), or what each
    branch brings (`any:`), in one query; writes nothing."""
    from .columns import Catalog, check_segment_columns
    from .explain import require_segment
    from .funnel import funnel as run_funnel, funnel_table
    from .runner import parse_as_of

    project = load(project_dir, profiles_dir, target, vars_text)
    seg = require_segment(project, segment)
    moment = parse_as_of(as_of)
    adapter = _connect_existing(project)
    try:
        check_segment_columns(project, seg, Catalog(adapter))
        result = run_funnel(adapter, project, seg, moment)
    finally:
        adapter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    console().print(funnel_table(result))


@main.command(cls=Command)
@with_project
@click.option("--entity", default=None, help="Compare the stored segments of this entity.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.argument("segments", nargs=-1)
def overlap(project_dir, profiles_dir, target, vars_text, entity, as_json, segments):
    """Members in common and the Jaccard index for every pair of stored segments of one entity
    (default: every stored segment); reads `memberships`, writes nothing."""
    from .overlap import overlap as compute_overlap, overlap_table

    project = load(project_dir, profiles_dir, target, vars_text)
    adapter = _connect_existing(project)
    try:
        result = compute_overlap(adapter, project, list(segments), entity)
    finally:
        adapter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    console().print(overlap_table(result))


@main.command(cls=Command)
@with_project
@click.option("--metric", "-m", "metrics", multiple=True,
              help="Metrics of the entity to report (names, comma separated; default: all).")
@click.option("--since", default=None, help="Count members who entered at or after this UTC time.")
@click.option("--until", default=None, help="Count members who entered before this UTC time.")
@click.option("--compare", "compare_to", default=None,
              help="Compare the whole segment with this segment (the control) instead of its splits.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--save", is_flag=True, help="Also write the rows into segment_outcomes.")
@click.argument("segment")
def report(project_dir, profiles_dir, target, vars_text, metrics, since, until, compare_to, as_json, save,
           segment):
    """What a segment achieves: each metric per split (or against --compare), for members who
    entered in the period, with lift, interval and p-value against the control; reads history."""
    from .outcomes import parse_bound, report as make_report, report_tables, save as save_outcomes

    project = load(project_dir, profiles_dir, target, vars_text)
    bounds = [parse_bound(since, "--since"), parse_bound(until, "--until")]
    adapter = _connect_existing(project)
    try:
        result = make_report(adapter, project, segment, list(metrics), *bounds, compare_to=compare_to)
        saved = save_outcomes(adapter, project, result) if save else None
    finally:
        adapter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for table_ in report_tables(result):
            console().print(table_)
    if saved is not None and not as_json:
        console().print(f"saved {saved} rows to {project.segment_schema}.segment_outcomes")



@main.command(cls=Command)
@with_project
@click.option("--as-of", default=None, help="Evaluate at this UTC timestamp (default: now).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many keys to show per kind of change.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.argument("segments", nargs=-1)
def plan(project_dir, profiles_dir, target, vars_text, as_of, limit, as_json, segments):
    """What a build would change for segments whose definition changed since their last build:
    members entering, exiting and moving split (counts and a sample); new segments with their size;
    stored segments no longer defined with the exits `segw retire` would send. Writes nothing.
    Exit code: 0 nothing would change, 3 something would, 2 bad input."""
    from .columns import Catalog, check_segment_columns
    from .plan import plan as make_plan, plan_report
    from .runner import parse_as_of, select_segments

    project = load(project_dir, profiles_dir, target, vars_text)
    names = select_segments(project, segments) if segments else []
    moment = parse_as_of(as_of)
    adapter = _connect_existing(project)
    try:
        catalog = Catalog(adapter)
        for name in names or list(project.segments):
            check_segment_columns(project, project.segments[name], catalog)
        result = make_plan(adapter, project, names, moment, limit)
    finally:
        adapter.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        console().print(plan_report(result))
    sys.exit(result.exit_code)



@main.command(name="init", cls=Command)
@click.option("--name", default=None, help="Project name (default: from the folder's name).")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init_command(name, directory):
    """Scaffold a new project in DIRECTORY (default: here): profiles.yml with an embedded DuckDB,
    segwarehouse.yml, seeds, one entity and one segment, with comments; `segw build` builds it."""
    from pathlib import Path

    from .init_project import init_project

    project_name, written = init_project(Path(directory), name)
    out = console()
    out.print(f"created project [bold]{project_name}[/] in {directory}:")
    for path in written:
        out.print(f"  {path}")
    where = "" if directory == "." else f"cd {directory} && "
    out.print(f"next: [bold]{where}segw build[/], then `segw explain loyal_opted_in 1`")



@main.group(name="docs")
def docs_group():
    """A static documentation site of the segments, in target/docs/."""


@docs_group.command(name="generate", cls=Command)
@with_project
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Folder to write (default: target/docs in the project).")
def docs_generate(project_dir, profiles_dir, target, vars_text, out):
    """Write the site: an index by category and a page per segment with its rules in plain words,
    compiled SQL, size over time, entries and exits per run, split sizes and overlaps. It opens from
    disk without a server or network."""
    from pathlib import Path

    from .site import generate

    project = load(project_dir, profiles_dir, target, vars_text)
    index = generate(project, Path(out) if out else None)
    console().print(f"wrote {len(project.segments) + 1} pages to {index.parent}; open {index}")


@docs_group.command(name="serve", cls=Command)
@with_project
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-generate", is_flag=True, help="Serve target/docs as it is, without generating it first.")
def docs_serve(project_dir, profiles_dir, target, vars_text, port, host, no_generate):
    """Generate the site, then serve it over HTTP until interrupted (Ctrl-C)."""
    from .site import generate, make_server

    project = load(project_dir, profiles_dir, target, vars_text)
    folder = project.root / "target" / "docs"
    if not no_generate:
        generate(project, folder)
    elif not (folder / "index.html").is_file():
        raise SegwError(f"no site in {folder}", hint="run `segw docs generate` first, or drop --no-generate")
    server = make_server(folder, host, port)
    console().print(f"serving {folder} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
