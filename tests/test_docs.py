"""The documentation cannot drift from the code.

- ``docs/notebook.ipynb`` is a well-formed notebook whose code cells run, in order, in one
  namespace (no Jupyter needed), and leave the gateway stopped, the client closed and no thread;
- every fenced ``python`` block of ``README.md`` and ``docs/*.md`` compiles, and every name it
  imports from ``wsapi_client`` (or a submodule) exists; a block marked ``<!-- test: run -->``
  on the line before it also runs, and must leave no thread behind;
- every relative link in those files points to an existing file and heading;
- ``docs/reference.md`` documents every public name (in prose, or with a mkdocstrings
  ``::: name`` directive whose members all have docstrings) and every command-line option;
- ``docs/README.md`` links every document of ``docs/``, and ``mkdocs.yml``'s navigation lists
  every page of the site and only existing ones.
(``mkdocs build --strict`` in ``.ci/run`` checks the rendered site and its anchors.)
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import wsapi_client

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOK = DOCS / "notebook.ipynb"
REFERENCE = DOCS / "reference.md"
MKDOCS = ROOT / "mkdocs.yml"
MARKDOWN = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)$")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --------------------------------------------------------------------------- markdown parsing


def _fenced_blocks(path: Path) -> list[tuple[str, int, str]]:
    """``(language, first line number, source)`` for every fenced block of a Markdown file."""
    blocks: list[tuple[str, int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = opening["info"].strip().split(" ")[0].lower()
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing is not None and closing["fence"].startswith(fence) and not closing["info"]:
                break
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        else:
            raise AssertionError(f"{_relative(path)}: unclosed code fence {fence}")
        blocks.append((language, index - len(body) + 1, "\n".join(body) + "\n"))
        index += 1
    return blocks


def _prose(path: Path) -> str:
    """The Markdown text without fenced blocks and inline code, where links are written."""
    return _INLINE_CODE.sub("", _without_fences(path))


def _without_fences(path: Path) -> str:
    """The Markdown text without its fenced blocks."""
    kept: list[str] = []
    inside: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        fence = _FENCE.match(line)
        if fence is not None:
            if inside is None:
                inside = fence["fence"]
                continue
            if fence["fence"].startswith(inside) and not fence["info"]:
                inside = None
                continue
        if inside is None:
            kept.append(line)
    return "\n".join(kept)


def _python_blocks() -> list[Any]:
    params = []
    for path in MARKDOWN:
        for language, line, source in _fenced_blocks(path):
            if language in ("python", "py", "python3"):
                params.append(pytest.param(path, line, source, id=f"{_relative(path)}:{line}"))
    return params


_RUN_MARK = "<!-- test: run -->"


def _runnable_blocks() -> list[Any]:
    """Blocks that the line before marks with ``<!-- test: run -->``: they run, not only compile."""
    params = []
    for path in MARKDOWN:
        lines = path.read_text(encoding="utf-8").splitlines()
        for language, line, source in _fenced_blocks(path):
            # ``line`` is the first line of the body (1-based): the fence is line - 1, and the
            # mark, if any, on the line before the fence.
            if line >= 3 and lines[line - 3].strip() == _RUN_MARK:
                assert language in ("python", "py", "python3"), f"{path}:{line}: not python"
                params.append(pytest.param(path, line, source, id=f"{_relative(path)}:{line}"))
    return params


def _imported_names(tree: ast.AST) -> list[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` for every import of ``wsapi_client`` in ``tree``."""
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "wsapi_client":
                found.extend((node.module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, None, node.lineno)
                for alias in node.names
                if alias.name.split(".")[0] == "wsapi_client"
            )
    return found


# --------------------------------------------------------------------------- the notebook


def _notebook() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return document


def _code_cells() -> list[str]:
    return ["".join(cell["source"]) for cell in _notebook()["cells"] if cell["cell_type"] == "code"]


def test_notebook_is_nbformat_4_without_outputs() -> None:
    notebook = _notebook()
    assert notebook["nbformat"] == 4
    assert notebook["nbformat_minor"] >= 5  # cell ids are required from 4.5 on
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    ids = []
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code"), cell
        assert isinstance(cell["source"], list)
        assert all(isinstance(line, str) for line in cell["source"])
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell["id"]), cell["id"]
        ids.append(cell["id"])
        assert isinstance(cell["metadata"], dict)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{cell['id']} has stored outputs"
            assert cell["execution_count"] is None, f"{cell['id']} has an execution count"
        else:
            assert "outputs" not in cell
    assert len(ids) == len(set(ids)), "cell ids must be unique"
    kinds = [cell["cell_type"] for cell in notebook["cells"]]
    assert kinds.count("markdown") >= kinds.count("code") // 2, "explain the code in markdown"


def test_notebook_runs_and_cleans_up() -> None:
    """Run every code cell in order in one namespace, as a kernel would (no Jupyter needed)."""
    from wsapi_client.emulator import missing_dependencies

    if missing_dependencies():
        pytest.skip(f"the notebook needs the emulator extra ({missing_dependencies()})")
    threads_before = set(threading.enumerate())
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        for number, source in enumerate(_code_cells(), 1):
            code = compile(source, f"{_relative(NOTEBOOK)}[code cell {number}]", "exec")
            exec(code, namespace)
    finally:
        # A failed cell must not leave the gateway or the client running for the next tests.
        client, gateway = namespace.get("client"), namespace.get("gw")
        if isinstance(client, wsapi_client.WebSocketClient):
            client.close(timeout=2)
        if gateway is not None:
            gateway.stop()

    client, gateway = namespace["client"], namespace["gw"]
    assert client.state is wsapi_client.ConnectionState.CLOSED
    assert client.stats.reconnects == 1  # the forced drop, and nothing else
    assert client.stats.queued == 0
    with pytest.raises(RuntimeError, match="not started"):
        gateway.url  # noqa: B018 - only a started gateway has a URL
    assert namespace["errors"].empty()
    left = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert not left, f"the notebook left threads running: {left}"


def test_notebook_shows_the_workflow() -> None:
    """The cells use what the notebook promises to show."""
    code = "\n".join(_code_cells())
    for needle in (
        "LocalGateway(SAMPLE_API)",
        '@gw.route("SayHello")',
        "post_to_connection",
        "WebSocketClient.connect(",
        "client.expect(",
        "client.messages(",
        "ValidationError",
        "client.on_error(",
        "gw.drop_all()",
        "client.with_reconnect(",
        "client.stats",
        "client.close()",
        "gw.stop()",
    ):
        assert needle in code, f"the notebook no longer shows {needle}"


# --------------------------------------------------------------------------- code in Markdown


def test_markdown_has_python_blocks() -> None:
    assert len(_python_blocks()) >= 10, "the block parser found too few python blocks"


@pytest.mark.parametrize(("path", "line", "source"), _python_blocks())
def test_python_block_compiles_and_imports_existing_names(
    path: Path, line: int, source: str
) -> None:
    where = f"{_relative(path)}:{line}"
    try:
        compile(source, where, "exec", dont_inherit=True)
    except SyntaxError as exc:
        pytest.fail(f"{where}: the python block does not compile: {exc}")
    for module_name, name, import_line in _imported_names(ast.parse(source)):
        at = f"{_relative(path)}:{line + import_line - 1}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            pytest.fail(f"{at}: `{module_name}` cannot be imported: {exc}")
        if name is not None and name != "*" and not hasattr(module, name):
            try:
                importlib.import_module(f"{module_name}.{name}")
            except ImportError:
                pytest.fail(f"{at}: `{module_name}` has no `{name}`")


def test_some_blocks_are_marked_to_run() -> None:
    assert _runnable_blocks(), "no block is marked <!-- test: run -->; the parser may be broken"


@pytest.mark.parametrize(("path", "line", "source"), _runnable_blocks())
def test_marked_block_runs_and_cleans_up(
    path: Path, line: int, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from wsapi_client.emulator import missing_dependencies

    if missing_dependencies():
        pytest.skip(f"the block needs the emulator extra ({missing_dependencies()})")
    threads_before = set(threading.enumerate())
    code = compile(source, f"{_relative(path)}:{line}", "exec", dont_inherit=True)
    exec(code, {"__name__": "__main__"})
    assert capsys.readouterr().out.strip(), "a runnable example should show its result"
    left = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert not left, f"{_relative(path)}:{line} left threads running: {left}"


# --------------------------------------------------------------------------- links


def _relative_links(path: Path) -> list[str]:
    text = _prose(path)
    targets = [m["target"] for m in _LINK.finditer(text)]
    targets += [m["target"] for m in _REFERENCE_DEF.finditer(text)]
    return [t for t in targets if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:|#|//", t)]


def test_markdown_files_have_relative_links() -> None:
    assert _relative_links(ROOT / "README.md"), "the link parser found no link in README.md"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a file (``## Spec loading`` gives ``spec-loading``)."""
    anchors: set[str] = set()
    for line in _without_fences(path).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[1].replace("`", "").strip().lower()).replace(
            " ", "-"
        )
        number, candidate = 1, slug
        while candidate in anchors:
            candidate = f"{slug}-{number}"
            number += 1
        anchors.add(candidate)
    return anchors


@pytest.mark.parametrize("path", MARKDOWN, ids=_relative)
def test_relative_links_point_to_existing_files(path: Path) -> None:
    broken = []
    for target in _relative_links(path):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{_relative(path)} links to missing files: {broken}"


@pytest.mark.parametrize("path", MARKDOWN, ids=_relative)
def test_anchors_point_to_existing_headings(path: Path) -> None:
    text = _prose(path)
    links = [m["target"] for m in _LINK.finditer(text)] + _relative_links(path)
    broken = []
    for target in dict.fromkeys(links):
        file_part, _, anchor = target.partition("#")
        if not anchor or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue
        document = path if not file_part else path.parent / file_part
        if document.suffix == ".md" and anchor not in _anchors(document):
            broken.append(target)
    assert not broken, f"{_relative(path)} links to missing headings: {broken}"


# --------------------------------------------------------------------------- the reference


def _mentioned(name: str, text: str) -> bool:
    """True when ``name`` appears as a word inside some inline code span of ``text``."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    return any(word.search(span.group(0)) for span in _INLINE_CODE.finditer(text))


_DIRECTIVE = re.compile(r"^:::\s+(?P<target>[\w.]+)\s*$", re.MULTILINE)


def _directives(text: str) -> set[str]:
    """The objects that mkdocstrings renders into the page (``::: wsapi_client.Name``)."""
    return {m["target"] for m in _DIRECTIVE.finditer(text)}


def _rendered(module: str, name: str, directives: set[str]) -> bool:
    """``module.name`` has a directive of its own, or its module's directive renders it."""
    return f"{module}.{name}" in directives or module in directives


def test_reference_directives_name_importable_public_objects() -> None:
    """Each ``:::`` target exists, and is public: the reference survives private moves."""
    text = REFERENCE.read_text(encoding="utf-8")
    directives = _directives(text)
    assert len(directives) >= 30, "the directive parser found too few ::: lines"
    for target in sorted(directives):
        assert not any(part.startswith("_") for part in target.split(".")), target
        module_name, _, name = target.rpartition(".")
        try:
            importlib.import_module(target)
            continue
        except ImportError:
            pass
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"docs/reference.md renders {target}, which does not exist"


def test_reference_names_every_public_name() -> None:
    import wsapi_client.codegen
    import wsapi_client.emulator
    import wsapi_client.protocol

    text = REFERENCE.read_text(encoding="utf-8")
    directives = _directives(text)
    names = [
        *(("wsapi_client", name) for name in wsapi_client.__all__),
        *(("wsapi_client.emulator", name) for name in wsapi_client.emulator.__all__),
        *(("wsapi_client.protocol", name) for name in wsapi_client.protocol.__all__),
        *(("wsapi_client.codegen", name) for name in wsapi_client.codegen.__all__),
    ]
    missing = [
        f"{module}.{name}"
        for module, name in names
        if not _mentioned(name, text) and not _rendered(module, name, directives)
    ]
    assert not missing, f"docs/reference.md does not document {missing}"


def test_mkdocstrings_renders_every_public_member() -> None:
    """The reference shows public members with their docstrings: none may be filtered or bare."""
    import yaml

    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    (mkdocstrings,) = [p["mkdocstrings"] for p in config["plugins"] if "mkdocstrings" in p]
    options = mkdocstrings["handlers"]["python"]["options"]
    assert options["filters"] == ["!^_"], "only private names may be filtered out"
    assert options.get("show_if_no_docstring") is True


def test_reference_documents_every_public_client_method() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    directives = _directives(text)
    client = wsapi_client.WebSocketClient("ws://127.0.0.1:9/never-connected")
    try:
        public = {name for name in dir(client) if not name.startswith("_")}  # attributes too
    finally:
        client.disconnect()
    classes: list[tuple[type, set[str]]] = [(wsapi_client.WebSocketClient, public)]
    for cls in (wsapi_client.Expectation, wsapi_client.MessageStream):
        classes.append((cls, {name for name in vars(cls) if not name.startswith("_")}))
    undocumented = []
    for cls, members in classes:
        rendered = f"wsapi_client.{cls.__name__}" in directives
        for name in sorted(members):
            member = inspect.getattr_static(cls, name, None)
            if member is None:  # an instance attribute: rendered by name, or mentioned
                if not (rendered or _mentioned(name, text)):
                    undocumented.append(f"{cls.__name__}.{name}")
                continue
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            documentable = callable(member) or isinstance(member, property)
            has_doc = bool(inspect.getdoc(member)) if documentable else True
            if not (_mentioned(name, text) or (rendered and has_doc)):
                undocumented.append(f"{cls.__name__}.{name}")
    assert not undocumented, f"docs/reference.md does not document {undocumented}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from wsapi_client.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the command line has no subcommands")


def test_reference_names_every_subcommand_and_option() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    missing = []
    for command, parser in _subcommands().items():
        if not _mentioned(f"wsapi-client {command}", text):
            missing.append(f"wsapi-client {command}")
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and not _mentioned(option, text):
                    missing.append(f"{command} {option}")
    assert not missing, f"docs/reference.md does not document {missing}"


def test_docs_index_links_every_document() -> None:
    index = DOCS / "README.md"
    linked = {target.split("#", 1)[0] for target in _relative_links(index)}
    documents = {
        p.name for p in DOCS.iterdir() if p.suffix in (".md", ".ipynb") and p.name != "README.md"
    }
    assert documents <= linked, f"docs/README.md does not link {sorted(documents - linked)}"


def _nav_pages(nav: Any) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_mkdocs_nav_lists_every_page_and_only_existing_ones() -> None:
    import yaml

    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    nav = _nav_pages(config["nav"])
    assert len(nav) == len(set(nav)), "a page is listed twice in the navigation"
    missing = [page for page in nav if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml lists missing pages: {missing}"
    pages = {
        p.name for p in DOCS.iterdir() if p.suffix in (".md", ".ipynb") and p.name != "README.md"
    }
    assert pages <= set(nav), f"mkdocs.yml's nav does not list {sorted(pages - set(nav))}"
    assert "README.md" in config["exclude_docs"], "docs/README.md would clash with index.md"


def test_griffe_extension_turns_rest_idioms_into_markdown() -> None:
    pytest.importorskip("griffe", reason="the docs extra builds the site")
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_rst", DOCS / "_ext" / "griffe_rst.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (
        "Create one with :meth:`connect`, or :class:`~wsapi_client.Keepalive`::\n"
        "\n"
        "    client = WebSocketClient.connect(url)\n"
        "\n"
        "    client.close()\n"
        "\n"
        "and then stop."
    )
    assert module.rst_to_markdown(text) == (
        "Create one with `connect`, or `wsapi_client.Keepalive`:\n"
        "\n"
        "```python\n"
        "client = WebSocketClient.connect(url)\n"
        "\n"
        "client.close()\n"
        "```\n"
        "\n"
        "and then stop."
    )


def test_readme_links_every_page_of_the_site() -> None:
    import yaml

    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    linked = {target.split("#", 1)[0] for target in _relative_links(ROOT / "README.md")}
    pages = {f"docs/{page}" for page in _nav_pages(config["nav"]) if page != "index.md"}
    assert pages <= linked, f"README.md does not link {sorted(pages - linked)}"
