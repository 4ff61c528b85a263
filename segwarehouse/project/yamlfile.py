"""Reads YAML files with line numbers kept, turning every YAML fault into a SegwError."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent,
                                ScalarEvent)
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import BaseResolver, VersionedResolver
from ruamel.yaml.tag import Tag

from ..errors import Location, SegwError

try:  # libyaml through PyYAML: the C parser behind the fast path
    import yaml as _pyyaml
    _CLoader = _pyyaml.CSafeLoader
except (ImportError, AttributeError):  # no libyaml: every file takes the slow path
    _pyyaml = _CLoader = None

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 100          # nested mappings and lists; deeper input is refused, not recursed into
MAX_ALIASES = 1000       # uses of `*anchor` in one file
MAX_VALUES = 200_000     # values in a file once every alias is expanded (an "alias bomb" is far more)


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that reports a bad value (`2020-13-45`) at its line, not a traceback."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ConstructorError(None, None, f"invalid value {node.value!r}: {exc}",
                                   node.start_mark) from None


class YamlDoc:
    """A parsed YAML file and a way to ask where any of its nodes stands."""

    def __init__(self, path: str, data: Any):
        self.path = path
        self.data = data

    def at(self, node: Any = None, key: Any = None) -> Location:
        return Location(self.path, line_of(node, key))


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of a mapping key, a sequence item, or the node itself."""
    try:
        if key is not None and isinstance(node, CommentedMap) and key in node:
            return node.lc.key(key)[0] + 1
        if key is not None and isinstance(node, CommentedSeq) and isinstance(key, int):
            return node.lc.item(key)[0] + 1
        if isinstance(node, (CommentedMap, CommentedSeq)):
            return node.lc.line + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return None


def read_text(path: Path, shown: str) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SegwError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                        Location(shown), "split it into smaller files")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise SegwError("file contains NUL bytes; it looks binary, not text",
                        Location(shown), "remove it or replace it with a UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SegwError(f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                        Location(shown, line), "save the file as UTF-8") from None


def _check_bounds(yaml: YAML, text: str, shown: str) -> None:
    """Refuse input too deep, too alias-heavy or holding NUL, reading events (no recursion)."""
    depth, aliases = 0, 0
    sizes: dict[str, int] = {}
    stack: list[list] = [[None, 0]]  # [anchor, values so far] per open collection
    for event in yaml.parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise SegwError(f"YAML is nested more than {MAX_DEPTH} levels deep", Location(shown, line),
                                "flatten the conditions: `all:`/`any:` take many children in one list")
            stack.append([event.anchor, 0])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            anchor, size = stack.pop()
            size += 1
            if anchor is not None:
                sizes[anchor] = size
            stack[-1][1] += size
        elif isinstance(event, ScalarEvent):
            if "\x00" in (event.value or ""):
                raise SegwError("a value contains a NUL character (\\0)", Location(shown, line),
                                "remove the \\0 or \\x00 escape from the value")
            if event.anchor is not None:
                sizes[event.anchor] = 1
            stack[-1][1] += 1
        elif isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise SegwError(f"YAML uses more than {MAX_ALIASES} aliases (*name)", Location(shown, line),
                                "write the values out, or use fewer anchors")
            stack[-1][1] += sizes.get(event.anchor, 1)
        if stack[-1][1] > MAX_VALUES:
            raise SegwError(f"YAML expands to more than {MAX_VALUES:,} values through its aliases",
                            Location(shown, line), "aliases (*name) that repeat other aliases multiply; "
                            "write the values out instead")


def load_yaml(path: Path, shown: str) -> YamlDoc:
    return _load_text(read_text(path, shown), shown)


def _load_text(text: str, shown: str) -> YamlDoc:
    try:
        return YamlDoc(shown, _load_fast(text))
    except _Fallback:
        return _load_yaml_slow(text, shown)


class _Fallback(Exception):
    """The fast path does not decide this text (a fault, a limit, or something exotic): use the slow path."""


# YAML 1.2 implicit-tag rules exactly as ruamel's round-trip loader applies them (no `%YAML` directive).
_RULES = VersionedResolver(version=(1, 2)).versioned_resolver
_STR_TAG = BaseResolver.DEFAULT_SCALAR_TAG
_SEQ_TAG = BaseResolver.DEFAULT_SEQUENCE_TAG
_MAP_TAG = BaseResolver.DEFAULT_MAPPING_TAG
# Characters that libyaml (YAML 1.1) and ruamel may read differently (tabs: ruamel refuses some that
# libyaml takes; the others: line breaks in YAML 1.1 only).
_ODD_CHARS = ("\t", "\x85", "\u2028", "\u2029")

# Rare syntax where libyaml (YAML 1.1) and ruamel part ways: `...` document ends (libyaml takes two in a
# row), `%` directives, and explicit `? key` entries (ruamel marks what follows them differently).
_RARE_SYNTAX = re.compile(r"^(?:\.\.\.|%)|(?:^|[\s\[{,])\?(?:\s|$)", re.MULTILINE)
# After an anchor or alias name: libyaml ends names at the first character outside [A-Za-z0-9_-],
# ruamel (YAML 1.2) only at a space or a flow indicator, so anything else reads differently.
_NAME_END = re.compile(r"[&*][A-Za-z0-9_-]+(?:[\s,\[\]{}]|$)")
# A block scalar header as both parsers read it alike: indicators only, no comment.
_BLOCK_HEADER = re.compile(r"(?:&[A-Za-z0-9_-]+ +)?[|>][0-9+-]* *$")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _plain_tag(value: str) -> Tag:
    rules = _RULES.get(value[0] if value else "", []) + _RULES.get(None, [])
    for tag, regexp in rules:
        if regexp.match(value):
            return Tag(suffix=tag)
    return _STR_TAG


def _ruamel_mark(text: str, mark: Any, last_line: int | None) -> Any:
    """`mark` as ruamel places it: past a last line without a line break, libyaml starts a new line.

    `last_line` is the number of that last line (None when the text ends with a line break).
    """
    if last_line is not None and mark.line > last_line:
        column = len(text) - 1 - max(text.rfind("\n"), text.rfind("\r"))
        if last_line == 0 and text.startswith("\ufeff"):
            column -= 1  # ruamel does not count a byte order mark
        return _pyyaml.Mark(mark.name, len(text), last_line, column, None, None)
    return mark


def _colon_before_comment(lines: list[str], key: Any, mark: Any) -> Any:
    """Where ruamel marks an omitted value followed by `# comment` and another key: just after the colon."""
    line = lines[key.end_mark.line]
    rest = line[key.end_mark.column:]
    after = rest.lstrip(" ")
    if not after.startswith(":"):
        raise _Fallback
    if not after[1:].strip(" ").startswith("#"):
        return mark
    column = key.end_mark.column + len(rest) - len(after) + 1
    return _pyyaml.Mark(mark.name, -1, key.end_mark.line, column, None, None)


def _check_source(lines: list[str], mark: Any, pattern: re.Pattern) -> None:
    """Fall back unless the text at `mark` reads as `pattern` (an anchor name, a block scalar header)."""
    if mark.line >= len(lines) or not pattern.match(lines[mark.line], mark.column):
        raise _Fallback


def _load_fast(text: str) -> Any:
    """Parse once with libyaml: check the bounds on its events, compose ruamel nodes, construct with ruamel.

    Gives exactly what `_load_yaml_slow` gives for any text it accepts; raises _Fallback for every
    fault, limit or rarity (so all error messages come from the slow path, unchanged).
    """
    if (_CLoader is None or any(ch in text for ch in _ODD_CHARS) or "\ufeff" in text[1:]
            or _RARE_SYNTAX.search(text)):
        raise _Fallback
    pyyaml = _pyyaml
    scalar_ev, alias_ev = pyyaml.ScalarEvent, pyyaml.AliasEvent
    seq_ev, map_ev = pyyaml.SequenceStartEvent, pyyaml.MappingStartEvent
    end_evs = (pyyaml.SequenceEndEvent, pyyaml.MappingEndEvent)
    tags: dict[str, Tag] = {}
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}   # values an anchor stands for, once it is complete
    aliases, total, documents = 0, 0, 0
    root = None
    stack: list[list] = []       # [node, is mapping, pending key node, values so far] per open collection
    empty = None                 # (node, key) of an omitted block-mapping value, waiting for the next event
    lines: list[str] = []        # the text's lines, split only when a rare construct needs a look
    last_line = None if not text or text[-1] in "\r\n" else (
        text.count("\n") + text.count("\r") - text.count("\r\n"))
    try:
        for event in pyyaml.parse(text, Loader=_CLoader):
            kind = type(event)
            if empty is not None:
                mark = _ruamel_mark(text, event.start_mark, last_line)
                if kind is scalar_ev:  # another key follows: a comment after `key:` keeps the mark there
                    lines = lines or _LINE_BREAK.split(text)
                    mark = _colon_before_comment(lines, empty[1], mark)
                empty[0].start_mark = empty[0].end_mark = mark
                empty = None
            if kind is scalar_ev:
                value = event.value
                if event.tag is not None or "\x00" in value:
                    raise _Fallback
                if event.implicit[0]:
                    tag = tags.get(value)
                    if tag is None:
                        tag = tags[value] = _plain_tag(value)
                else:
                    tag = _STR_TAG
                node = ScalarNode(tag, value, event.start_mark, event.end_mark,
                                  style=event.style or None, anchor=event.anchor)
                if node.style in ("|", ">"):  # ruamel reads some block scalars its own way: leave those to it
                    lines = lines or _LINE_BREAK.split(text)
                    _check_source(lines, event.start_mark, _BLOCK_HEADER)
                    line = event.start_mark.line + 1
                    if not stack or (line < len(lines) and lines[line] and not lines[line].strip(" ")):
                        raise _Fallback  # at the top level, or a first line of only spaces
                elif event.anchor is not None:
                    lines = lines or _LINE_BREAK.split(text)
                    _check_source(lines, event.start_mark, _NAME_END)
                size = 1
                if event.anchor is not None:
                    if event.anchor in anchors:
                        raise _Fallback
                    anchors[event.anchor] = node
                    sizes[event.anchor] = 1
            elif kind is alias_ev:
                lines = lines or _LINE_BREAK.split(text)
                _check_source(lines, event.start_mark, _NAME_END)
                aliases += 1
                if aliases > MAX_ALIASES or event.anchor not in sizes:  # too many, undefined or recursive
                    raise _Fallback
                node, size = anchors[event.anchor], sizes[event.anchor]
                if stack and stack[-1][1] and stack[-1][2] is None:  # an alias as a mapping key
                    raise _Fallback
            elif kind is seq_ev or kind is map_ev:
                if (event.tag is not None or len(stack) >= MAX_DEPTH
                        or (stack and stack[-1][1] and stack[-1][2] is None)):  # a collection as a key
                    raise _Fallback
                is_map = kind is map_ev
                node = (MappingNode if is_map else SequenceNode)(
                    _MAP_TAG if is_map else _SEQ_TAG, [], event.start_mark, None,
                    flow_style=event.flow_style, anchor=event.anchor)
                if event.anchor is not None:
                    lines = lines or _LINE_BREAK.split(text)
                    _check_source(lines, event.start_mark, _NAME_END)
                    if event.anchor in anchors:
                        raise _Fallback
                    anchors[event.anchor] = node
                stack.append([node, is_map, None, 0])
                continue
            elif kind in end_evs:
                node, _, _, size = stack.pop()
                node.end_mark = event.end_mark
                size += 1
                if node.anchor is not None:
                    sizes[node.anchor] = size
            elif kind is pyyaml.DocumentStartEvent:
                documents += 1
                if documents > 1 or event.version is not None or event.tags:
                    raise _Fallback
                continue
            else:  # stream start/end, document end
                continue
            if not stack:
                root = node
                total += size
                if total > MAX_VALUES:
                    raise _Fallback
                continue
            parent = stack[-1]
            is_value = parent[1] and parent[2] is not None
            if not parent[1]:
                parent[0].value.append(node)
            elif is_value:
                key = parent[2]
                parent[0].value.append((key, node))
                parent[2] = None
            else:
                parent[2] = node
            if kind is scalar_ev and not node.value and node.style is None and node.anchor is None:
                if parent[0].flow_style:  # an omitted flow key or value: ruamel marks it elsewhere
                    raise _Fallback
                if is_value:  # an omitted block-mapping value: ruamel marks it where the next token starts
                    empty = (node, key)
            parent[3] += size
            if parent[3] > MAX_VALUES:
                raise _Fallback
    except _Fallback:
        raise
    except Exception:  # a libyaml error, or anything unforeseen: the slow path reports it
        raise _Fallback from None
    if root is None:
        return None
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    try:
        if not anchors:
            try:
                return _construct(root, yaml.constructor)
            except _NotPlain:
                yaml = YAML(typ="rt")  # a fresh constructor: the first one has seen some nodes
                yaml.Constructor = _Constructor
                yaml.allow_duplicate_keys = False
        return yaml.constructor.construct_document(root)
    except _Fallback:
        raise
    except Exception:  # duplicate key, bad value, deep recursion...: the slow path reports it
        raise _Fallback from None


class _NotPlain(Exception):
    """A merge (`<<`) or value (`=`) key: ruamel's constructor builds the document."""


_SPECIAL_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


def _construct(node: Any, constructor: RoundTripConstructor) -> Any:
    """What ruamel's round-trip constructor makes of a document without anchors or aliases, with
    its mappings, sequences and plain or quoted strings built here (ruamel's generic machinery
    costs more than the building). Other scalars are ruamel's; depth is bounded by MAX_DEPTH."""
    kind = type(node)
    if kind is ScalarNode:
        if node.ctag is _STR_TAG and node.style not in ("|", ">"):
            return node.value
        return constructor.construct_object(node)
    start = node.start_mark
    if kind is MappingNode:
        data = CommentedMap()
        lines = data.lc
        lines.line, lines.col = start.line, start.column
        for key_node, value_node in node.value:
            if key_node.ctag is not _STR_TAG and key_node.tag in _SPECIAL_KEYS:
                raise _NotPlain
            key = _construct(key_node, constructor)
            if key in data:  # a duplicate key: the slow path reports it
                raise _Fallback
            value = _construct(value_node, constructor)
            key_mark, value_mark = key_node.start_mark, value_node.start_mark
            lines.add_kv_line_col(key, [key_mark.line, key_mark.column, value_mark.line, value_mark.column])
            data[key] = value
    else:
        data = CommentedSeq()
        lines = data.lc
        lines.line, lines.col = start.line, start.column
        items = []
        for index, child in enumerate(node.value):
            items.append(_construct(child, constructor))
            lines.add_idx_line_col(index, [child.start_mark.line, child.start_mark.column])
        data.extend(items)
    if data:
        if node.flow_style is True:
            data.fa.set_flow_style()
        elif node.flow_style is False:
            data.fa.set_block_style()
    return data


def _load_yaml_slow(text: str, shown: str) -> YamlDoc:
    """The pure-Python path: two ruamel passes; its errors are the reference for every fault."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    try:
        _check_bounds(YAML(typ="rt"), text, shown)
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if "duplicate key" in problem or "found duplicate key" in str(exc):
            raise SegwError(f"duplicate key in YAML: {problem}", Location(shown, line),
                            "each key may appear once in a mapping; remove or rename one") from None
        if problem.startswith("invalid value"):
            raise SegwError(problem, Location(shown, line),
                            "write a real date or time (YYYY-MM-DD, months 1..12, hours 0..23), "
                            "or quote the value to keep it as text") from None
        raise SegwError(f"invalid YAML: {problem}", Location(shown, line),
                        "check indentation, colons and quoting around this line") from None
    except YAMLError as exc:
        raise SegwError(f"invalid YAML: {' '.join(str(exc).split())}", Location(shown),
                        "check the file's syntax") from None
    except RecursionError:
        raise SegwError("YAML is nested too deeply", Location(shown),
                        f"keep mappings and lists under {MAX_DEPTH} levels") from None
    return YamlDoc(shown, data)
