"""Reads YAML files with line numbers kept, turning every YAML fault into a SegwError."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent,
                                ScalarEvent)

from ..errors import Location, SegwError

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
    text = read_text(path, shown)
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
