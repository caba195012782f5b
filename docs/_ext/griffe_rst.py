"""A griffe extension for the API reference: the code's reStructuredText idioms as Markdown.

The docstrings of wsapi_client are written for ``help()`` and editors, with a little
reStructuredText (``:class:`X```, ``:meth:`connect```, literal blocks after ``::``).
mkdocstrings renders docstrings as Markdown, where those would show raw; this rewrites them,
at load time and only for the site: roles become code spans, a ``::`` block a Python fence.
Loaded by mkdocs.yml (``extensions: [docs/_ext/griffe_rst.py]``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|data|mod|obj|const):`[~!.]?([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with roles as code spans and ``::`` literal blocks fenced."""
    text = _ROLE.sub(lambda m: f"`{m[1]}`", text)
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.rstrip().endswith("::"):
            out.append(line)
            index += 1
            continue
        # A paragraph ending with "::" introduces the indented block after it.
        head = line.rstrip()[:-2].rstrip()
        base = len(line) - len(line.lstrip())
        if head:
            out.append(head + ":")
        index += 1
        block: list[str] = []
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > base
        ):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        if not block:
            continue
        indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
        out += ["", " " * base + "```python"]
        out += [(" " * base + b[indent:]) if b.strip() else "" for b in block]
        out += [" " * base + "```", ""]
    return "\n".join(out).replace("\n\n\n", "\n\n").strip("\n")


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring as it is loaded (before it is parsed into sections)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Convert ``obj``'s docstring in place."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
