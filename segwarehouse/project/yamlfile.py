"""Reads YAML files with line numbers kept, turning every YAML fault into a SegwError."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import Location, SegwError

MAX_FILE_BYTES = 5 * 1024 * 1024


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


def load_yaml(path: Path, shown: str) -> YamlDoc:
    text = read_text(path, shown)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if "duplicate key" in problem or "found duplicate key" in str(exc):
            raise SegwError(f"duplicate key in YAML: {problem}", Location(shown, line),
                            "each key may appear once in a mapping; remove or rename one") from None
        raise SegwError(f"invalid YAML: {problem}", Location(shown, line),
                        "check indentation, colons and quoting around this line") from None
    except YAMLError as exc:
        raise SegwError(f"invalid YAML: {' '.join(str(exc).split())}", Location(shown),
                        "check the file's syntax") from None
    return YamlDoc(shown, data)
