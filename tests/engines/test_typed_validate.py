"""`segw validate` against each engine: operators fit column types, `sql:` runs, warnings name the mistake."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from segwarehouse.cli import main

ENTITIES = """
    entities:
      - name: person
        model: people
        key: id
        relations:
          events:
            model: events
            foreign_key: pid
            time: at
            name: kind
          labels:
            model: events
            foreign_key: pid
            time: label
"""
GOOD = """
    segments:
      - {name: swiss, entity: person, rules: {property: country, equals: CH}}
      - {name: scary, entity: person, rules: {event: horror}}
      - {name: spenders, entity: person, rules: {related: events, sum: {of: amount, gt: 1}}}
      - {name: recent, entity: person, rules: {property: signup, after: 2024-01-01}}
      - {name: older, entity: person, rules: {sql: "age > 35"}}
      - {name: named, entity: person, rules: {property: name, starts_with: A}}
"""
FILES = {
    "seeds/people.csv": "id,name,country,age,signup,vip\n1,Ann,CH,30,2024-01-05,true\n"
                        "2,Bob,FR,40,2024-02-01,false\n3,Cid,CH,50,2023-12-12,true\n",
    "seeds/events.csv": "pid,at,kind,amount,label\n1,2024-06-01 10:00:00,horror,5.5,x\n"
                        "2,2024-06-02 10:00:00,comedy,1.5,y\n",
    "seeds/nl.csv": "id\n1\n",
    "models/entities.yml": ENTITIES,
    "segments/good.yml": GOOD,
}


@pytest.fixture
def built(engine, project_factory):
    project = project_factory(engine, FILES)
    result = project.build()
    assert result.exit_code == 0, [s.error for s in result.segments]
    return project


def validate(project, *args):
    return CliRunner().invoke(main, ["validate", "--project-dir", str(project.root), *args])


def bad_segment(project, rules: str) -> None:
    project.write("segments/bad.yml", f"segments:\n  - {{name: bad, entity: person, rules: {rules}}}\n")


def assert_error(result, where: str, *phrases: str) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    assert output.count("error:") == 1, output
    assert where in output, output
    for phrase in phrases:
        assert phrase in output, output


def test_good_project_validates_without_warnings(built):
    result = validate(built)
    assert result.exit_code == 0, result.output
    assert "columns checked against the warehouse" in result.output
    assert "warning" not in result.output


TYPE_MISTAKES = {
    "contains-on-number": ("{property: age, contains: '3'}", "`contains` works on text", "people.age is a number"),
    "gt-on-text": ("{property: name, gt: 5}", "`gt` compares people.name (text)"),
    "within-last-on-text": ("{property: name, within_last: 3 days}", "`within_last` works on dates"),
    "after-on-number": ("{property: age, after: 2024-01-01}", "`after` works on dates"),
    "between-date-on-number": ("{property: age, between: [2024-01-01, 2024-02-01]}", "compares people.age"),
    "sum-of-text": ("{related: events, sum: {of: label, gt: 1}}", "`sum` needs a numeric column"),
    "avg-of-date": ("{related: events, avg: {of: at, gt: 1}}", "`avg` needs a numeric column"),
    "equals-maybe-on-boolean": ("{property: vip, equals: maybe}", "people.vip is a"),
    "equals-text-on-number": ("{property: age, equals: old}", "people.age is a number"),
    "sql-unknown-column": ("{sql: 'agee > 3'}", "`sql:` condition is refused by the warehouse"),
    "sql-window-function": ("{sql: 'row_number() over (order by age) > 1'}", "`sql:`"),
}


@pytest.mark.parametrize("rules,phrases", [(v[0], v[1:]) for v in TYPE_MISTAKES.values()], ids=list(TYPE_MISTAKES))
def test_type_mistakes_fail_validate_at_their_line(built, rules, phrases):
    bad_segment(built, rules)
    assert_error(validate(built), "segments/bad.yml:2:", *phrases)


def test_time_window_on_text_time_column_blames_the_relation(built):
    bad_segment(built, "{related: labels, within_last: 30 days}")
    assert_error(validate(built), "models/entities.yml:14:", "`time:` column 'label'", "not a date or timestamp")


@pytest.mark.parametrize("old,new,line", [("key: id", "key: idd", 4), ("foreign_key: pid", "foreign_key: pidd", 8),
                                          ("time: at", "time: att", 9)])
def test_wrong_entity_columns_are_blamed_on_the_declaration(built, old, new, line):
    built.write("models/entities.yml", ENTITIES.replace(old, new, 1))
    result = validate(built)
    assert_error(result, f"models/entities.yml:{line}:", f"unknown column '{new.split(': ')[1]}'")
    assert "segment '" not in result.output  # it is the declaration that is wrong, not a segment
    built_again = built.build()
    assert built_again.exit_code == 1
    errors = [s.error for s in built_again.segments if s.error]
    assert errors and all(f"models/entities.yml:{line}:" in e for e in errors), errors


def test_warnings_name_the_likely_mistake(built):
    built.write("segments/typos.yml", """
        lists:
          - {name: ghosts, entity: person, from: seeds/ghosts.csv}
        segments:
          - {name: horor_fans, entity: person, rules: {event: horor}}
          - {name: swissish, entity: person, rules: {property: country, in: [CH, CHE]}}
          - {name: haunted, entity: person, rules: {in_list: ghosts}}
    """)
    built.write("seeds/ghosts.csv", "id\n99\n98\n")
    assert built.build().exit_code == 0
    result = validate(built)
    output = result.output
    assert result.exit_code == 0, output
    assert "segments/typos.yml:4:" in output and "event 'horor' never occurs in events.kind" in output
    assert "did you mean 'horror'?" in output
    assert "segments/typos.yml:5:" in output and "value 'CHE' never occurs in people.country" in output
    assert "value 'CH' never" not in output
    assert "segments/typos.yml:2:" in output and "none of the 2 keys of list 'ghosts'" in output
    strict = validate(built, "--warn-error")
    assert strict.exit_code == 2, strict.output
    assert "3 warnings (--warn-error)" in strict.output


def test_collect_warnings_is_callable_from_build(built):
    from segwarehouse.validate import collect_warnings
    bad_segment(built, "{event: horor}")
    project = built.load()
    adapter = built.adapter()
    try:
        warnings = collect_warnings(project, adapter)
    finally:
        adapter.close()
    assert [str(w.location) for w in warnings] == ["segments/bad.yml:2"]
    assert "horor" in warnings[0].message


def test_unbuilt_model_is_reported_not_checked(built):
    built.write("models/fresh.sql", "SELECT 1 AS id, 'x' AS tag")
    built.write("models/fresh.yml", "entities:\n  - {name: thing, model: fresh, key: id}\n")
    built.write("segments/fresh.yml", "segments:\n  - {name: tagged, entity: thing, rules: {property: tag, equals: x}}\n")
    result = validate(built)
    assert result.exit_code == 0, result.output
    assert "not checked, not built yet: fresh" in result.output


def test_unreachable_warehouse_fails_validate_unless_offline(engine, project_factory):
    project = project_factory(engine, FILES)
    profiles = (project.root / "profiles.yml").read_text()
    if engine == "duckdb":
        where = "no warehouse at"
    else:
        port = "5432" if engine == "postgres" else "3306"
        (project.root / "profiles.yml").write_text(profiles.replace(f"port: {port}", "port: 1"))
        where = "cannot connect"
    result = validate(project)
    assert_error(result, "profiles.yml:", where)
    assert not (project.root / "warehouse.duckdb").exists()
    assert validate(project, "--offline").exit_code == 0


def test_preview_refuses_a_missing_duckdb_file_and_bad_options(project_factory):
    project = project_factory("duckdb", FILES)
    run = CliRunner().invoke
    result = run(main, ["preview", "swiss", "--project-dir", str(project.root)])
    assert_error(result, "profiles.yml:3:", "no warehouse at", "run `segw build` first")
    assert not (project.root / "warehouse.duckdb").exists()
    assert project.build().exit_code == 0
    limited = run(main, ["preview", "swiss", "--limit", "-1", "--project-dir", str(project.root)])
    assert limited.exit_code == 2 and "--limit" in limited.output and "Traceback" not in limited.output
    unknown = run(main, ["preview", "swis", "--project-dir", str(project.root)])
    assert_error(unknown, "unknown segment 'swis'", "did you mean 'swiss'?")
    assert "--select" not in unknown.output
    ok = run(main, ["preview", "swiss", "--limit", "1", "--project-dir", str(project.root)])
    assert ok.exit_code == 0, ok.output


def test_list_keys_with_leading_zeros_stay_text(engine, project_factory):
    project = project_factory(engine, {
        "seeds/people.csv": "id,country\n00001,CH\n00002,FR\n1,DE\n",
        "seeds/nl.csv": "id\n00001\n",
        "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
        "segments/s.yml": """
            lists:
              - {name: nl, entity: person, from: seeds/nl.csv}
            segments:
              - {name: listed, entity: person, rules: {in_list: nl}, materialized: table}
              - {name: added, entity: person, include: [nl], materialized: table}
              - {name: suppressed, entity: person, rules: {all: []}, exclude: [nl], materialized: table}
        """}, config={"seeds": {"people": {"column_types": {"id": "varchar"}}}})
    result = project.build()
    assert result.exit_code == 0, [s.error for s in result.segments]
    assert project.members("listed") == {"00001"}
    assert project.members("added") == {"00001"}
    assert project.members("suppressed") == {"00002", "1"}  # the suppression list suppresses 00001


def test_warnings_compare_case_as_the_segment_does_and_cover_only_the_segments_built(built):
    """A value found only in another case is a warning unless `ignore_case` says so, also where the
    engine's collation would match it (MariaDB); a build warns about its own segments only."""
    from segwarehouse.validate import collect_warnings
    built.write("segments/case.yml", """
        segments:
          - {name: lower_ch, entity: person, rules: {property: country, equals: ch}}
          - {name: any_ch, entity: person, rules: {property: country, equals: ch, ignore_case: true}}
          - {name: loud_horror, entity: person, rules: {event: HORROR}}
    """)
    project = built.load()
    adapter = built.adapter()
    try:
        every = [w.message for w in collect_warnings(project, adapter)]
        only = [w.message for w in collect_warnings(project, adapter, ["any_ch", "swiss", "scary"])]
    finally:
        adapter.close()
    assert sorted(every) == ["event 'HORROR' never occurs in events.kind",
                             "value 'ch' never occurs in people.country"]
    assert only == []
