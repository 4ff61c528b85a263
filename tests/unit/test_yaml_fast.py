"""The libyaml fast path of load_yaml gives exactly what the pure-Python ruamel path gave: data, lines, errors."""
from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from segwarehouse.errors import SegwError
from segwarehouse.project import yamlfile as Y

REPO = Path(__file__).resolve().parents[2]
REPO_FILES = sorted({*REPO.glob("segments/**/*.yml"), *REPO.glob("models/**/*.yml"),
                     *REPO.glob("tests/fixtures/**/*.yml"), *REPO.glob("tests/fixtures/**/*.yaml"),
                     *REPO.glob("*.yml")})

TRICKY = {
    "booleans_1_2": "a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: TRUE\nh: y\ni: n\nj: Yes\n",
    "numbers": "a: 010\nb: 0o17\nc: 0x1F\nd: 0b101\ne: 1_000\nf: +12\ng: -0\nh: 1.5e3\ni: .inf\nj: -.INF\n"
               "k: .nan\nl: 1:30\nm: 3.\nn: 0.10\no: 1e3\np: 0xFFFFFFFFFFFFFFFFFFFF\nq: 12345678901234567890\n",
    "nulls": "a: ~\nb: null\nc: Null\nd:\ne: ''\nf: \"\"\ng: NULL\n",
    "dates": "a: 2024-01-31\nb: 2024-01-31 10:00:00\nc: 2024-01-31T10:00:00Z\nd: 2024-01-31t10:00:00.5+02:00\n"
             "e: 2024-1-5\nf: '2024-01-31'\ng: 2024-01-31 10:00:00 -5\nh: 20240131\n",
    "quoted_vs_plain": "a: '1'\nb: \"true\"\nc: 'yes'\nd: \"0x10\"\ne: 'it''s'\nf: \"tab\\there \\u00e9 \\x41\"\n"
                       "g: \"line\\\nfolded\"\nh: '  spaced  '\n",
    "anchors_aliases": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nlist:\n  - &s scalar\n  - *s\n  - *b\n"
                       "n: &n 5\nm: *n\nf: &f 1.50\ng: *f\n",
    "merge_keys": "base: &b\n  a: 1\n  b: 2\nother: &o {c: 3}\nx:\n  <<: *b\n  b: 20\ny:\n  <<: [*b, *o]\n  d: 4\n",
    "multiline": "lit: |\n  one\n  two\n\nkeep: |+\n  k\n\nstrip: |-\n  s\nfold: >\n  a\n  b\n\n  c\n"
                 "plain: this is\n  one line\nind: |2\n    indented\nq: \"a\n  b\"\n",
    "empty_document": "",
    "only_comments": "# nothing\n   # here\n",
    "explicit_document": "---\na: 1\n...\n",
    "empty_explicit_document": "---\n",
    "top_scalar": "just text\n",
    "top_list": "- 1\n- two\n-\n- - nested\n  - more\n- {a: 1}\n",
    "comments": "# head\na: 1 # after\n# between\nb:\n  # inside\n  - x # item\n  - y\n# tail\n",
    "unicode": "名前: 値\nemoji: \"\U0001F600\"\nkey_é: café\nlist: [ä, ö, ü]\nmixed: 'Zürich'\n",
    "flow_and_block": "a: [1, [2, 3], {b: c, d: [e]}]\nb: {x: [], y: {}}\nc:\n- 1\n- [2, 3]\nd: [\n  1,\n  2,\n]\n",
    "empty_values": "a:\nb:\nc:\n  d:\n  e:\n    f:\nseq:\n-\n-\n- x\nlast:",
    "trailing_comment_no_newline": "a:\n  b:   # c",
    "crlf": "a: 1\r\nb:\r\n  - x\r\n  - y\r\nc: |\r\n  z\r\n",
    "cr_only": "a: 1\rb: 2\r",
    "bom": "\ufeffa: 1\nb: 2\n",
    "indentless_seq": "a:\n- 1\n- 2\nb:\n  - 3\n",
    "special_keys": "1: one\nfalse: f\n2024-01-01: d\nnull: n\n'q': 1\n\"dq\": 2\n",
    "explicit_key": "? explicit\n: value\n",
    "long_key_lines": "segments:\n  - name: x\n    rules:\n      all:\n        - property: a\n          equals: b\n"
                      "        - {property: c, in: [1, 2, 3]}\n    schedule: \"0 */6 * * *\"\n",
    "strings_like_numbers": "a: 1.2.3\nb: 0x\nc: 0o\nd: 1e\ne: 1_\nf: 0b\ng: +\nh: -x\ni: .5\nj: 1,000\n",
    "equals_and_value": "=: x\na: =\n",
    "merge_without_anchors": "x:\n  <<: {a: 1}\n  b: 2\ny: [1, {c: 3}]\n",
    "anchor_on_empty": "a: &e\nb: *e\n",
    "aliased_keys_values": "k: &k key\nmap:\n  x: *k\n",
    # These take the slow path on purpose; the results must still be the same.
    "tag_str": "a: !!str 1\nb: !!int '2'\n",
    "custom_tag": "a: !thing {x: 1}\n",
    "version_directive": "%YAML 1.1\n---\na: yes\nb: 010\n",
    "complex_key": "? [a, b]\n: c\n",
    "flow_empty_value": "a: {b: , c}\n",
    "top_block_scalar": "|\n#\n",
    "block_scalar_blank_first": "c: |\n\n   z\nd: >\n  \n  y\n",
    "bom_empty_value_at_end": "\ufeffa: ",
    "tab_in_value": "a: \"b\tc\"\n",
    "duplicate_anchor": "a: &x 1\nb: &x 2\nc: *x\n",
    "recursive": "a: &r [1, *r]\n",
}
FALLS_BACK = {"explicit_document", "tag_str", "custom_tag", "version_directive", "complex_key", "explicit_key",
              "top_block_scalar", "block_scalar_blank_first", "flow_empty_value", "tab_in_value",
              "duplicate_anchor", "recursive"}

BAD = {
    "syntax": "a: [1, 2\nb: 3\n",
    "bad_indent": "a:\n  b: 1\n c: 2\n",
    "duplicate_key": "a: 1\nb: 2\na: 3\n",
    "duplicate_nested": "x:\n  y: 1\n  y: 2\n",
    "invalid_date": "when: 2020-13-45\n",
    "invalid_time": "when: 2020-01-01 25:00:00\n",
    "too_deep": "a: " + "[" * (Y.MAX_DEPTH + 1) + "]" * (Y.MAX_DEPTH + 1) + "\n",
    "deep_block": "".join("  " * i + f"k{i}:\n" for i in range(Y.MAX_DEPTH + 2)) + "  " * (Y.MAX_DEPTH + 2) + "v\n",
    "too_many_aliases": "a: &a 1\nb: [" + ", ".join(["*a"] * (Y.MAX_ALIASES + 1)) + "]\n",
    "alias_bomb": "a: &a [" + ",".join(["x"] * 10) + "]\n"
                  + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n"
                            for p, c in zip("abcdef", "bcdefg")),
    "nul_escape": "a: \"x\\0y\"\n",
    "undefined_alias": "a: *nope\n",
    "two_documents": "a: 1\n---\nb: 2\n",
    "bad_escape": "a: \"\\q\"\n",
    "unclosed_quote": "a: 'open\nb: 1\n",
    "tab_indent": "a:\n\tb: 1\n",
    "control_char": "a: b\x07c\n",
    "merge_not_mapping": "a: &a 1\nb:\n  <<: *a\n",
    "tab_in_plain_value": "a: b \tc\n",
    "block_more_indented": "c: |\n \n   z\n",
    "true_equals_one": "1: one\ntrue: t\n",
    "two_document_ends": "a: 1\n...\n...\n",
}


def _lc(x) -> list | None:
    return None if x.lc.data is None else [(repr(k), v) for k, v in x.lc.data.items()]


def _shape(x, path=()):
    """Everything the loaders produce that callers could see: types, values, order, lines and columns."""
    if id(x) in path:
        return ("cycle",)
    path = (*path, id(x))
    if isinstance(x, CommentedMap):
        return ("map", type(x).__name__, x.lc.line, x.lc.col, _lc(x),
                [(_shape(k, path), _shape(v, path), Y.line_of(x, k)) for k, v in x.items()],
                [_shape(m, path) for m in x.merge], vars(x.merge) if x.merge else None)
    if isinstance(x, CommentedSeq):
        return ("seq", type(x).__name__, x.lc.line, x.lc.col, _lc(x),
                [(_shape(v, path), Y.line_of(x, i)) for i, v in enumerate(x)])
    return (type(x).__name__, repr(x), getattr(getattr(x, "anchor", None), "value", None))


def _outcome(load, text: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruamel warns about reused anchors, on both paths
        try:
            return ("ok", _shape(load(text, "f.yml").data))
        except SegwError as exc:
            return ("error", exc.message, exc.location, exc.hint, str(exc))
        except Exception as exc:  # noqa: BLE001 - ruamel itself crashes on a few odd texts
            return ("crash", type(exc).__name__, str(exc))


def _takes_fast_path(text: str) -> bool:
    try:
        Y._load_fast(text)
    except Y._Fallback:
        return False
    return True


def test_repo_corpus_is_found():
    assert len(REPO_FILES) >= 8, REPO_FILES


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_repo_files_load_the_same_on_the_fast_path(path):
    text = path.read_text(encoding="utf-8")
    assert _takes_fast_path(text)
    assert _outcome(Y._load_text, text) == _outcome(Y._load_yaml_slow, text)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_texts_load_the_same(name):
    text = TRICKY[name]
    assert _takes_fast_path(text) == (name not in FALLS_BACK)
    new, old = _outcome(Y._load_text, text), _outcome(Y._load_yaml_slow, text)
    assert new == old
    assert new[0] == "ok"


def test_yaml_1_2_rules_hold_on_the_fast_path():
    data = Y._load_fast(TRICKY["booleans_1_2"] + "oct: 010\nhex: 0x1F\n")
    assert data["a"] == "yes" and data["c"] == "on" and data["e"] is True and data["g"] is True
    assert data["oct"] == 10 and data["hex"] == 31


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_texts_give_the_same_error(name):
    text = BAD[name]
    assert not _takes_fast_path(text)
    new, old = _outcome(Y._load_text, text), _outcome(Y._load_yaml_slow, text)
    assert new[0] == "error", new
    assert new == old


def test_load_yaml_reads_files_through_the_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "s.yml"
    path.write_text("segments:\n  - name: a\n    rules: {all: []}\n")
    monkeypatch.setattr(Y, "_load_yaml_slow", lambda *a: pytest.fail("slow path used"))
    doc = Y.load_yaml(path, "segments/s.yml")
    assert doc.path == "segments/s.yml" and doc.data["segments"][0]["name"] == "a"
    assert doc.at(doc.data["segments"], 0).line == 2


_PIECES = list(":-[]{}&*!|>'\"#,? \n\t%@`\\0123456789yesnoYN.~=<+") + [
    "\n  ", "  ", "- ", ": ", "&a ", "*a", "<<: *a\n", "\r\n", "\r", "é", "\U0001F600", "\ufeff", "\x85",
    "0x", "0o", "2020-01-01", "---\n", "...\n", "? ", "{a: }", "[a, ]", "{a}", "|\n", ">-\n", "'", "#c",
    "&a: ", "%YAML 1.2\n", "\x7f", "\x1b", "\ufffe", "\\/", "!!", "*a:"]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(5)
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op in (1, 2):
            text = text[:i] + rng.choice(_PIECES) + text[i:]
        elif op == 3:
            lines = text.split("\n")
            lines.insert(rng.randrange(len(lines)), rng.choice(lines))
            text = "\n".join(lines)
        else:
            lines = text.split("\n")
            j = rng.randrange(len(lines))
            lines[j] = " " * rng.randint(0, 3) + lines[j].lstrip()
            text = "\n".join(lines)
    return text


def test_mutated_texts_load_or_fail_the_same():
    rng = random.Random(10)
    texts = [p.read_text(encoding="utf-8") for p in REPO_FILES] + list(TRICKY.values())
    fast = 0
    for _ in range(400):
        lines = rng.choice(texts).split("\n")
        start = rng.randrange(len(lines))
        text = _mutate(rng, "\n".join(lines[start:start + rng.randint(3, 20)]))
        old = _outcome(Y._load_yaml_slow, text)
        if old[0] == "crash":  # a ruamel bug (a traceback today): the fast path may read such a text
            continue
        assert _outcome(Y._load_text, text) == old, repr(text)
        fast += _takes_fast_path(text)
    assert fast >= 40  # enough mutants are read by the fast path for the comparison to mean something
