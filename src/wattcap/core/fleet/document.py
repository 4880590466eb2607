"""A rules document as a tree of located values, the same whether it came from YAML or from JSON.

The loader checks one shape for both forms, so every value carries where it came from: a YAML line and column
(from PyYAML's composed node tree, not from the constructed Python objects, which have lost them) and a JSON path
like ``rules[2].match.days[0]``. Each :class:`RuleIssue` names both, so the file form points at a line and the
API form at a path.

Two YAML 1.1 traps are defused here rather than in every field: a plain scalar keeps the text as written
(:attr:`Located.text`), so ``to: 18:00`` is still "18:00" where a time is expected (YAML 1.1 reads it as the
sexagesimal integer 1080) and ``id_tokens: [0012]`` is still "0012" (not the octal 10); and a key written twice
in one mapping is reported instead of silently keeping the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Located", "RuleFileError", "RuleIssue", "from_data", "from_yaml", "kind_of"]


@dataclass(frozen=True, slots=True)
class RuleIssue:
    """One thing wrong with a rules document: where (1-based line and column for YAML, a path always) and why."""

    line: int | None
    column: int | None
    path: str
    reason: str

    def where(self, source: str) -> str:
        """``FILE:LINE:COL`` for a file, ``SOURCE: PATH`` for a document without lines (the API's JSON)."""
        if self.line is not None:
            return f"{source}:{self.line}:{self.column or 1}"
        return f"{source}: {self.path or '(document)'}"


class RuleFileError(ValueError):
    """A rules document was refused; :attr:`issues` lists everything found wrong in it, in document order."""

    def __init__(self, issues: list[RuleIssue], source: str = "<rules>") -> None:
        self.issues = sorted(issues, key=lambda i: (i.line if i.line is not None else 0, i.column or 0))
        self.source = source
        super().__init__("\n".join(f"{i.where(source)}: {i.reason}" for i in self.issues))


@dataclass(frozen=True, slots=True)
class Located:
    """A value of the document with its place. Mappings hold ``dict[str, Located]``, sequences ``list[Located]``."""

    value: Any
    path: str
    line: int | None = None
    column: int | None = None
    #: For a YAML plain (unquoted) scalar: the text as written, whatever YAML 1.1 made of it.
    text: str | None = None
    #: For a mapping: where each key was written (unknown keys are reported there, not at their values).
    keys: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def issue(self, reason: str) -> RuleIssue:
        return RuleIssue(self.line, self.column, self.path, reason)

    def key_issue(self, key: str, reason: str) -> RuleIssue:
        line, column = self.keys.get(key, (self.line, self.column))
        return RuleIssue(line, column, child_path(self.path, key), reason)


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def kind_of(value: Any) -> str:
    """How a reason names what it found instead of what it expected."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{value!r}"


def from_yaml(text: str, issues: list[RuleIssue]) -> Located | None:
    """The single YAML document in ``text`` as a located tree; syntax errors go to ``issues`` (and give None)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "not valid YAML"
        issues.append(RuleIssue(mark.line + 1 if mark else None, mark.column + 1 if mark else None, "", reason))
        return None
    except yaml.YAMLError as exc:
        issues.append(RuleIssue(None, None, "", f"not valid YAML: {exc}"))
        return None
    if root is None:
        issues.append(RuleIssue(1, 1, "", "the document is empty; it needs at least 'rules:'"))
        return None
    return _from_node(root, "", SafeConstructor(), issues)


def _from_node(node: Node, path: str, constructor: SafeConstructor, issues: list[RuleIssue]) -> Located:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, MappingNode):
        try:
            constructor.flatten_mapping(node)  # merge keys (<<: *defaults) into the mapping, as YAML means them
        except ConstructorError as exc:
            issues.append(RuleIssue(line, column, path, str(exc.problem)))
        items: dict[str, Located] = {}
        keys: dict[str, tuple[int | None, int | None]] = {}
        for key_node, value_node in node.value:
            key_line, key_column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, ScalarNode):
                issues.append(RuleIssue(key_line, key_column, path, "a key must be a plain name"))
                continue
            key = key_node.value
            if key in items:
                first = keys[key][0]
                issues.append(RuleIssue(key_line, key_column, child_path(path, key),
                                        f"{key!r} is given twice in this mapping (first on line {first})"))
                continue
            keys[key] = (key_line, key_column)
            items[key] = _from_node(value_node, child_path(path, key), constructor, issues)
        return Located(items, path, line, column, keys=keys)
    if isinstance(node, SequenceNode):
        elements = [_from_node(item, child_path(path, i), constructor, issues) for i, item in enumerate(node.value)]
        return Located(elements, path, line, column)
    assert isinstance(node, ScalarNode)
    try:
        value = constructor.construct_object(node)
    except (ConstructorError, ValueError) as exc:
        issues.append(RuleIssue(line, column, path, f"cannot read {node.value!r}: {getattr(exc, 'problem', exc)}"))
        value = node.value
    if isinstance(value, float) and not math.isfinite(value):
        value = node.value  # .inf / .nan: not a number any limit could be; refused as text where a number is due
    plain = node.style is None
    return Located(value, path, line, column, text=node.value if plain else None)


def from_data(data: Any, path: str = "") -> Located:
    """A JSON-shaped value (dicts, lists, scalars, as the API receives it) as a located tree without lines."""
    if isinstance(data, Mapping):
        return Located({str(k): from_data(v, child_path(path, str(k))) for k, v in data.items()}, path)
    if isinstance(data, list | tuple):
        return Located([from_data(v, child_path(path, i)) for i, v in enumerate(data)], path)
    return Located(data, path)
