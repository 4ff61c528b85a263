"""`segw docs`: a static site of the project's segments in target/docs/, opened from disk with no
server and no network: an index by category, and per segment its rules in plain words, compiled
SQL, size over time, entries and exits per run, split sizes and overlap with the other segments.
Charts are Vega-Lite specs rendered by the Vega and Vega-Lite bundles shipped in static/."""
from __future__ import annotations

import datetime as dt
import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from ..errors import SegwError
from ..outputs import col, table, text
from ..project.loader import Project
from ..language import types as t

STATIC = Path(__file__).parent / "static"
VENDORED = ("vega.min.js", "vega-lite.min.js", "LICENSE-vega.txt")
RUNS_SHOWN = 200  # the most recent runs per segment in the charts


@dataclass
class SegmentData:
    name: str
    size: int | None = None
    status: str | None = None
    last_as_of: dt.datetime | None = None
    runs: list[dict] = field(default_factory=list)       # as_of, size, entered, exited, status
    splits: dict[str, int] = field(default_factory=dict)
    outcomes: list[dict] = field(default_factory=list)  # latest `segw report --save` per metric


@dataclass
class SiteData:
    segments: dict[str, SegmentData]
    overlaps: dict[str, object]          # entity -> Overlap (stored memberships)
    undefined: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # stored only
    warehouse: str | None = None         # why there is no warehouse data, if there is none


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else value


def collect(project: Project, adapter) -> SiteData:
    """Everything the site shows from the warehouse, in a few queries."""
    from ..overlap import Overlap, overlap, stored_entities

    schema = project.segment_schema
    data = SiteData({name: SegmentData(name) for name in project.segments}, {})
    if adapter is None:
        data.warehouse = "no warehouse yet: run `segw build`, then `segw docs generate`"
        return data
    if adapter.relation_kind(schema, "segment_catalog") is not None:
        rows = adapter.fetchall(exp.select(col("segment"), col("size"), col("status"), col("last_as_of"),
                                           col("entity")).from_(table(schema, "segment_catalog")))
        for name, size, status, last_as_of, entity in rows:
            if name in data.segments:
                item = data.segments[name]
                item.size, item.status, item.last_as_of = (None if size is None else int(size)), status, last_as_of
            else:
                data.undefined.append((name, entity, status))
    if adapter.relation_kind(schema, "segment_runs") is not None:
        ranked = exp.select(col("segment"), col("as_of"), col("size"), col("entered"), col("exited"),
                            col("status"), col("run_id")).from_(table(schema, "segment_runs")).where(
            exp.In(this=col("segment"), expressions=[text(n) for n in project.segments] or [text("")]))
        for name, as_of, size, entered, exited, status, run_id in adapter.fetchall(ranked):
            data.segments[name].runs.append({"as_of": _iso(as_of), "size": int(size or 0),
                                             "entered": int(entered or 0), "exited": int(exited or 0),
                                             "status": status, "run_id": run_id})
        for item in data.segments.values():
            item.runs.sort(key=lambda r: (r["as_of"] or "", r["run_id"] or ""))
            item.runs = item.runs[-RUNS_SHOWN:]
    if adapter.relation_kind(schema, "memberships") is not None:
        split = col("split")
        rows = adapter.fetchall(exp.select(col("segment"), split, exp.Count(this=exp.Star()))
                                .from_(table(schema, "memberships"))
                                .where(exp.not_(exp.Is(this=split.copy(), expression=exp.null())))
                                .group_by(col("segment"), split.copy()))
        for name, split_name, count in rows:
            if name in data.segments:
                data.segments[name].splits[split_name] = int(count)
        stored = stored_entities(adapter, schema)
        for entity in sorted(set(stored.values())):
            names = sorted(s for s, e in stored.items() if e == entity)
            if len(names) >= 2:
                data.overlaps[entity] = overlap(adapter, project, names, entity)
            else:
                data.overlaps[entity] = Overlap(entity, names, {n: 0 for n in names})
    from ..outcomes import latest_saved
    for name, reports in latest_saved(adapter, project).items():
        data.segments[name].outcomes = reports
    return data


# -- Vega-Lite specs -------------------------------------------------------------------------------
def size_spec(runs: list[dict]) -> dict:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container", "height": 180,
            "data": {"values": [r for r in runs if r["status"] == "success"]},
            "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "as_of", "type": "temporal", "title": "as of"},
                         "y": {"field": "size", "type": "quantitative", "title": "members"},
                         "tooltip": [{"field": "as_of", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                                     {"field": "size", "type": "quantitative"}]}}


def flow_spec(runs: list[dict]) -> dict:
    values = []
    for run in runs:
        if run["status"] not in ("success", "retired"):
            continue
        values.append({"as_of": run["as_of"], "change": "entered", "members": run["entered"]})
        values.append({"as_of": run["as_of"], "change": "exited", "members": -run["exited"]})
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container", "height": 160,
            "data": {"values": values}, "mark": "bar",
            "encoding": {"x": {"field": "as_of", "type": "ordinal", "title": "run (as of)",
                               "axis": {"labelAngle": -40, "labelLimit": 120}},
                         "y": {"field": "members", "type": "quantitative", "title": "entered / exited"},
                         "color": {"field": "change", "type": "nominal",
                                   "scale": {"domain": ["entered", "exited"], "range": ["#2a9d8f", "#e76f51"]}},
                         "tooltip": [{"field": "as_of"}, {"field": "change"}, {"field": "members"}]}}


def split_spec(splits: dict[str, int]) -> dict:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container", "height": 120,
            "data": {"values": [{"split": k, "members": v} for k, v in splits.items()]}, "mark": "bar",
            "encoding": {"y": {"field": "split", "type": "nominal", "title": None},
                         "x": {"field": "members", "type": "quantitative"},
                         "tooltip": [{"field": "split"}, {"field": "members"}]}}


def overlap_spec(result, highlight: str | None = None) -> dict:
    values = []
    for a in result.segments:
        for b in result.segments:
            values.append({"a": a, "b": b, "both": result.count(a, b) if a != b else result.sizes[a],
                           "jaccard": round(result.jaccard(a, b), 4) if a != b else 1.0})
    size = max(160, 28 * len(result.segments))
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": size, "height": size,
            "data": {"values": values},
            "encoding": {"x": {"field": "b", "type": "nominal", "title": None, "sort": result.segments,
                               "axis": {"labelAngle": -40}},
                         "y": {"field": "a", "type": "nominal", "title": None, "sort": result.segments}},
            "layer": [{"mark": "rect",
                       "encoding": {"color": {"field": "jaccard", "type": "quantitative", "title": "Jaccard",
                                              "scale": {"domain": [0, 1], "scheme": "blues"}},
                                    "tooltip": [{"field": "a"}, {"field": "b"}, {"field": "both"},
                                                {"field": "jaccard"}]}},
                      {"mark": {"type": "text", "fontSize": 10},
                       "encoding": {"text": {"field": "both", "type": "quantitative"},
                                    "color": {"condition": {"test": "datum.jaccard > 0.5", "value": "white"},
                                              "value": "black"}}}]}


# -- HTML ------------------------------------------------------------------------------------------
def esc(value) -> str:
    return html.escape("" if value is None else str(value))


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2630;background:#f7f8fa}
header{background:#1d3557;color:#fff;padding:14px 28px}header a{color:#fff;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:18px 28px}
h2{border-bottom:1px solid #d8dde3;padding-bottom:4px;margin-top:30px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.status-active{color:#2a7d3f}.status-retired{color:#9a3b3b}.muted{color:#6b7682}
pre{background:#fff;border:1px solid #d8dde3;padding:12px;overflow:auto;font-size:12px}
.chart{background:#fff;border:1px solid #e4e7eb;padding:8px;margin:8px 0;min-height:40px}
.rules li{margin:3px 0}.kind{font-weight:600;color:#1d3557}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:800px){.grid{grid-template-columns:1fr}}
.tag{display:inline-block;background:#e8eef7;border-radius:3px;padding:0 6px;margin-right:4px;font-size:12px}
"""

RENDER_JS = """
(function () {
  var charts = document.querySelectorAll('[data-spec]');
  var pending = charts.length, done = 0;
  function finish() { document.body.setAttribute('data-charts-rendered', String(done)); }
  if (!pending) { finish(); return; }
  charts.forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
    var compiled = vegaLite.compile(spec).spec;
    var view = new vega.View(vega.parse(compiled), {renderer: 'svg', container: el, hover: true});
    view.runAsync().then(function () { done += 1; }).catch(function (err) {
      el.textContent = 'chart failed: ' + err; console.error(err);
    }).then(function () { pending -= 1; if (!pending) { finish(); } });
  });
})();
"""


def _json_script(element_id: str, value) -> str:
    payload = json.dumps(value, default=str).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{payload}</script>'


class Page:
    def __init__(self, title: str, depth: int):
        self.title, self.prefix, self.body, self.specs = title, "../" * depth, [], []

    def add(self, markup: str) -> None:
        self.body.append(markup)

    def chart(self, spec: dict, empty: str) -> None:
        if not spec["data"]["values"]:
            self.add(f'<p class="muted">{esc(empty)}</p>')
            return
        element = f"spec{len(self.specs) + 1}"
        self.specs.append((element, spec))
        self.add(f'<div class="chart" data-spec="{element}"></div>')

    def render(self, project_name: str) -> str:
        scripts = "".join(_json_script(e, s) for e, s in self.specs)
        vendor = (f'<script src="{self.prefix}static/vega.min.js"></script>'
                  f'<script src="{self.prefix}static/vega-lite.min.js"></script>') if self.specs else ""
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{esc(self.title)}</title><link rel=\"icon\" href=\"data:,\">"
                f"<link rel=\"stylesheet\" href=\"{self.prefix}static/site.css\"></head><body>"
                f"<header><a href=\"{self.prefix}index.html\"><strong>{esc(project_name)}</strong> segments</a>"
                "</header><main>" + "\n".join(self.body) + "</main>" + scripts + vendor
                + (f'<script src="{self.prefix}static/render.js"></script>' if self.specs
                   else "<script>document.body.setAttribute('data-charts-rendered','0')</script>")
                + "</body></html>\n")


def rules_html(node: t.Condition) -> str:
    from ..words import condition_words

    if isinstance(node, (t.All, t.Any, t.NoneOf)):
        word = {t.All: "all of", t.Any: "any of", t.NoneOf: "none of"}[type(node)]
        if not node.children:
            return f'<span class="kind">{word}</span> nothing ({"true" if word != "any of" else "false"})'
        items = "".join(f"<li>{rules_html(c)}</li>" for c in node.children)
        return f'<span class="kind">{word}</span><ul>{items}</ul>'
    if isinstance(node, t.Not):
        return f'<span class="kind">not</span><ul><li>{rules_html(node.child)}</li></ul>'
    if isinstance(node, t.InSegment):
        return f'member of segment <a href="{esc(node.segment)}.html">{esc(node.segment)}</a>'
    return esc(condition_words(node))


def _size(value) -> str:
    return "-" if value is None else f"{value:,}"


def index_page(project: Project, data: SiteData, generated: dt.datetime) -> str:
    page = Page(f"{project.config.name}: segments", 0)
    page.add(f"<h1>Segments of {esc(project.config.name)}</h1>")
    page.add(f'<p class="muted">{len(project.segments)} segments, {len(project.lists)} lists; '
             f"generated {generated:%Y-%m-%d %H:%M} UTC from target '{esc(project.target.name)}'"
             + (f"; {esc(data.warehouse)}" if data.warehouse else "") + "</p>")
    categories: dict[str, list[t.Segment]] = {}
    for segment in project.segments.values():
        categories.setdefault(segment.category or "uncategorized", []).append(segment)
    for category in sorted(categories):
        page.add(f'<h2 id="{esc(category)}">{esc(category)}</h2><table><tr><th>segment</th><th>title</th>'
                 "<th>description</th><th>entity</th><th>size</th><th>status</th><th>schedule</th>"
                 "<th>last built (as of)</th></tr>")
        for segment in sorted(categories[category], key=lambda s: s.name):
            item = data.segments[segment.name]
            status = item.status or ("live view" if segment.materialized == "view" else "not built")
            page.add(f'<tr><td><a href="segments/{esc(segment.name)}.html">{esc(segment.name)}</a></td>'
                     f"<td>{esc(segment.title)}</td><td>{esc(segment.description)}</td><td>{esc(segment.entity)}</td>"
                     f'<td class="n">{_size(item.size)}</td><td class="status-{esc(item.status)}">{esc(status)}</td>'
                     f"<td><code>{esc(project.schedule_of(segment))}</code></td>"
                     f"<td>{esc(f'{item.last_as_of:%Y-%m-%d %H:%M}' if item.last_as_of else '-')}</td></tr>")
        page.add("</table>")
    if data.undefined:
        page.add("<h2>Stored but not defined</h2><table><tr><th>segment</th><th>entity</th><th>status</th></tr>")
        for name, entity, status in sorted(data.undefined, key=lambda row: row[0]):
            page.add(f"<tr><td>{esc(name)}</td><td>{esc(entity)}</td><td>{esc(status)}</td></tr>")
        page.add("</table>")
    if project.lists:
        page.add("<h2>Lists</h2><table><tr><th>list</th><th>entity</th><th>source</th></tr>")
        for item in project.lists.values():
            page.add(f"<tr><td>{esc(item.name)}</td><td>{esc(item.entity)}</td><td><code>{esc(item.source)}</code></td></tr>")
        page.add("</table>")
    for entity, result in sorted(data.overlaps.items()):
        if len(result.segments) >= 2:
            page.add(f"<h2>Overlap of {esc(entity)} segments</h2>"
                     '<p class="muted">Members in common; colour: Jaccard index.</p>')
            page.chart(overlap_spec(result), "no stored members")
    return page.render(project.config.name)


def segment_page(project: Project, segment: t.Segment, data: SiteData, sql: str) -> str:
    from ..words import segment_words

    item = data.segments[segment.name]
    page = Page(f"{segment.name}: {segment.title or ''}", 1)
    page.add(f"<h1>{esc(segment.title or segment.name)}</h1>")
    page.add(f'<p><code>{esc(segment.name)}</code> · entity <strong>{esc(segment.entity)}</strong> · '
             f"{esc(segment.materialized)} · schedule <code>{esc(project.schedule_of(segment))}</code> · "
             f"category {esc(segment.category or 'uncategorized')} "
             + "".join(f'<span class="tag">{esc(tag)}</span>' for tag in segment.tags) + "</p>")
    if segment.description:
        page.add(f"<p>{esc(segment.description)}</p>")
    page.add(f'<p>Size <strong>{_size(item.size)}</strong>, status {esc(item.status or "not built")}'
             + (f", last built as of {item.last_as_of:%Y-%m-%d %H:%M} UTC" if item.last_as_of else "") + "</p>")
    page.add("<h2>Who is in</h2>")
    page.add(f'<p class="muted">{esc(segment_words(segment))}</p>')
    rules = f'<div class="rules"><ul><li>{rules_html(segment.rules)}</li></ul></div>' if segment.rules is not None \
        else "<p>No rules: defined by include alone.</p>"
    page.add(rules)
    if segment.include:
        page.add("<p>Always in (include): " + ", ".join(_link(project, n) for n in segment.include) + "</p>")
    if segment.exclude:
        page.add("<p>Never in (exclude): " + ", ".join(_link(project, n) for n in segment.exclude) + "</p>")
    if segment.splits:
        page.add("<p>Splits: " + ", ".join(f"{esc(s.name)} {s.percent}%" for s in segment.splits)
                 + (f" (seed <code>{esc(segment.split_seed)}</code>)" if segment.split_seed else "") + "</p>")
    if segment.columns:
        page.add("<p>Columns carried: " + ", ".join(f"<code>{esc(c)}</code>" for c in segment.columns) + "</p>")
    traits = getattr(segment, "traits", ())
    if traits:
        from ..words import condition_words
        page.add("<p>Traits (computed columns):</p><ul>" + "".join(
            f"<li><code>{esc(trait.name)}</code>: {esc(condition_words(trait.measure).strip())}</li>"
            for trait in traits) + "</ul>")
    page.add('<div class="grid"><div><h2>Size over time</h2>')
    page.chart(size_spec(item.runs), "no successful runs yet")
    page.add("</div><div><h2>Entered and exited per run</h2>")
    page.chart(flow_spec(item.runs), "no runs yet" if segment.materialized != "view"
               else "a view keeps no history of entries and exits")
    page.add("</div></div>")
    if segment.splits:
        page.add("<h2>Split sizes</h2>")
        page.chart(split_spec(item.splits), "no stored members yet")
    if item.outcomes:  # the latest `segw report --save` of each metric (docs/outcomes.md)
        from ..outcomes import outcome_rows_html, outcome_spec
        page.add('<h2 id="outcomes">Outcomes</h2>')
        for report_ in item.outcomes:
            start = f"{report_['period_start']:%Y-%m-%d}" if report_["period_start"] else "the start"
            page.add(f"<h3>{esc(report_['metric'])} <span class=\"muted\">({esc(report_['kind'])}; members who "
                     f"entered {esc(start)} .. {report_['period_end']:%Y-%m-%d}; saved "
                     f"{report_['computed_at']:%Y-%m-%d %H:%M} UTC; control {esc(report_['control'])})</span></h3>")
            page.chart(outcome_spec(report_), "no members")
            page.add(outcome_rows_html(report_, esc))
    result = data.overlaps.get(segment.entity)
    page.add(f"<h2>Overlap with other {esc(segment.entity)} segments</h2>")
    if result is not None and segment.name in result.segments and len(result.segments) >= 2:
        page.chart(overlap_spec(result, segment.name), "no stored members")
    else:
        page.add('<p class="muted">no stored members to compare (views keep none)</p>')
    page.add(f"<h2>Compiled SQL ({esc(project.dialect)})</h2><pre><code>{esc(sql)}</code></pre>")
    return page.render(project.config.name)


def _link(project: Project, name: str) -> str:
    if name in project.segments:
        return f'<a href="{esc(name)}.html">{esc(name)}</a>'
    return f"list <code>{esc(name)}</code>"


def generate(project: Project, out: Path | None = None, as_of: dt.datetime | None = None) -> Path:
    """Write the site to out (default target/docs/) and return the index path."""
    from ..compiler.segment import compile_segment
    from ..materialize import utcnow
    from ..warehouse import connect

    out = Path(out) if out is not None else project.root / "target" / "docs"
    now = utcnow()
    as_of = as_of or now
    adapter = None
    note = None
    try:
        from ..project.profiles import require_existing_warehouse
        require_existing_warehouse(project.target)
        adapter = connect(project.target)
    except SegwError as exc:
        note = f"no warehouse data ({exc.message})"
    try:
        data = collect(project, adapter)
    finally:
        if adapter is not None:
            adapter.close()
    if note:
        data.warehouse = note
    if out.exists():
        shutil.rmtree(out)
    (out / "segments").mkdir(parents=True)
    (out / "static").mkdir()
    for name in VENDORED:
        shutil.copyfile(STATIC / name, out / "static" / name)
    (out / "static" / "site.css").write_text(CSS)
    (out / "static" / "render.js").write_text(RENDER_JS)
    (out / "index.html").write_text(index_page(project, data, now))
    for segment in project.segments.values():
        try:
            sql = compile_segment(project, segment, None if segment.materialized == "view" else as_of,
                                  project.dialect)
        except SegwError as exc:
            sql = f"-- cannot be compiled: {exc}"
        (out / "segments" / f"{segment.name}.html").write_text(segment_page(project, segment, data, sql))
    return out / "index.html"


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8080):
    """An HTTP server of the site's folder (the site also opens from disk without one)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise SegwError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                        hint="choose another --port") from None
