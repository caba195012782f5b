"""Source layout for generated code: bracketed groups that wrap like black, and docstrings.

Generated files are read by people and checked by ruff (line length 100), so calls, signatures
and literals are written on one line when they fit and one item per line (with a trailing comma)
when they do not. A line that still does not fit (one very long name) gets ``# noqa: E501``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Union

import attrs

__all__ = ["WIDTH", "Group", "docstring", "layout", "mark_long_lines", "summary"]

WIDTH = 100


@attrs.frozen
class Group:
    """``open`` + items separated by commas + ``close``; items are text or nested groups.

    ``tuple_of_one`` writes the trailing comma a one-item tuple needs when it stays flat.
    """

    open: str
    items: Sequence[Union[str, Group]]
    close: str
    tuple_of_one: bool = False


Node = Union[str, Group]


def _flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = ", ".join(_flat(item) for item in node.items)
    if node.tuple_of_one and len(node.items) == 1:
        inner += ","
    return f"{node.open}{inner}{node.close}"


def layout(node: Node, indent: int = 0, suffix: str = "") -> str:
    """``node`` as source at ``indent`` spaces (the first line unindented), then ``suffix``."""
    flat = _flat(node) + suffix
    if isinstance(node, str) or indent + len(flat) <= WIDTH or not node.items:
        return flat
    pad = " " * (indent + 4)
    lines = [node.open]
    for item in node.items:
        lines.append(pad + layout(item, indent + 4, ","))
    lines.append(" " * indent + node.close + suffix)
    return "\n".join(lines)


def _escape_docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    return text


def summary(text: str) -> str:
    """The first lines of a module docstring (after its opening quotes): ``text`` on one line
    of plain words, escaped and wrapped to the line width."""
    words = _escape_docstring(" ".join(text.split()))
    return "\n".join(
        textwrap.wrap(words, width=WIDTH - 3, break_long_words=False, break_on_hyphens=False)
    )


def docstring(text: str, indent: int) -> str:
    """A triple-quoted docstring at ``indent``, paragraphs wrapped to the line width."""
    pad = " " * indent
    width = WIDTH - indent - 6  # room for the quotes of a one-line docstring
    paragraphs = [p.strip() for p in text.strip().replace("\r\n", "\n").split("\n\n")]
    wrapped: list[list[str]] = []
    for paragraph in paragraphs:
        if not paragraph:
            continue
        lines: list[str] = []
        for source_line in paragraph.splitlines():
            stripped = source_line.strip()
            if not stripped:
                continue
            lines.extend(
                textwrap.wrap(
                    _escape_docstring(stripped),
                    width=width,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        wrapped.append(lines)
    if not wrapped:
        return f'{pad}""""""'
    if len(wrapped) == 1 and len(wrapped[0]) == 1:
        return f'{pad}"""{wrapped[0][0]}"""'
    out = [f'{pad}"""{wrapped[0][0]}']
    first = True
    for lines in wrapped:
        if not first:
            out.append("")
        out.extend(f"{pad}{line}" for line in (lines[1:] if first else lines))
        first = False
    out.append(f'{pad}"""')
    return "\n".join(out)


def mark_long_lines(source: str) -> str:
    """Add ``# noqa: E501`` to code lines that are still longer than the width.

    Docstring lines are left alone: they are wrapped, and one that is a single long word (a
    URL) is exempt from E501 anyway.
    """
    out: list[str] = []
    in_string = False
    for line in source.split("\n"):
        quotes = line.count('"""')
        long_code = not in_string and len(line) > WIDTH and quotes == 0
        out.append(f"{line}  # noqa: E501" if long_code else line)
        if quotes % 2 == 1:
            in_string = not in_string
    return "\n".join(out)
