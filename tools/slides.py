"""Workshop decks: every notebook as a reveal.js slide show that works without internet.

    .venv/bin/python tools/slides.py annotate notebooks/[0-9][0-9]_*.ipynb
    .venv/bin/python tools/slides.py build build/slides        # what `make slides` runs

`annotate` writes each cell's `metadata.slideshow.slide_type` (JupyterLab's "Slide Type"),
chosen by `slide_types`: a deck is a short summary of its notebook, not every cell. `build`
exports every notebook with nbconvert's slides exporter, hiding code (a deck shows figures,
not the code that drew them) and dropping cells tagged `solution`, and copies reveal.js and
what nbconvert's template loads with it (MathJax 2, require.js, jQuery; npm packages pinned in
tools/slides/package.json) into the folder, so that nothing is fetched from elsewhere.
"""

import argparse
import html
import re
import shutil
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import SlidesExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NPM = ROOT / "tools" / "slides" / "node_modules"
# What the decks load, copied from node_modules to the same paths under OUT/lib. nbconvert's
# template loads reveal.js's plugin/notes/ (so reveal.js stays at 5: 6 moved it to dist/) and
# drives MathJax 2 (MathJax.Hub): of MathJax's 70 MB, TeX input and HTML output are enough.
ASSETS = [
    *["reveal.js/dist", "reveal.js/plugin/notes", "requirejs/require.js"],
    *["jquery/dist/jquery.min.js", "mathjax/MathJax.js", "mathjax/config/Safe.js"],
    *["mathjax/config/TeX-AMS_CHTML-full.js", "mathjax/extensions", "mathjax/jax/element"],
    *["mathjax/jax/input/TeX", "mathjax/jax/output/CommonHTML", "mathjax/fonts/HTML-CSS/TeX/woff"],
]
MATHJAX = "lib/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
# nbconvert's reveal template, less its Mermaid import from a CDN (no notebook draws Mermaid)
# and its request for /favicon.ico, with a slide taller than the screen scrolling (the template's
# own reveal_scroll misses the first slide).
TEMPLATE = """{% extends 'index.html.j2' %}
{% block html_head_js_mermaidjs %}{% endblock %}
{% block html_head_css %}<link rel="icon" href="data:,"><style>
.reveal .slides > section > section { max-height: 100%; overflow-y: auto; }
</style>{% endblock %}"""
HEADING = re.compile(
    r"^#{1,6} .*\b(exercise|summary|questions|in practice)\b", re.IGNORECASE | re.MULTILINE
)


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """A worked solution (tag `solution`): never in a deck, as in `make student`."""
    return "solution" in cell.metadata.get("tags", [])


def is_figure(cell: nbformat.NotebookNode) -> bool:
    """A code cell whose committed outputs include a PNG image."""
    return cell.cell_type == "code" and any("image/png" in o.get("data", {}) for o in cell.outputs)


def slide_types(cells: list[nbformat.NotebookNode]) -> list[str]:
    """Each cell's slide type. In a deck: the first cell (title, motivation, what you will
    learn, time) and every markdown cell with an Exercise, Summary, Questions or "In practice"
    heading, each a slide;
    every figure, on the slide of the nearest markdown cell above it (its heading and prose),
    or on a slide below that one (`subslide`) when an earlier figure has it already. Everything
    else, and every cell tagged `solution`, is skipped."""
    types = ["skip"] * len(cells)
    types[0] = "slide"
    led: set[int] = set()  # markdown cells that already lead a figure's slide
    for index, cell in enumerate(cells):
        if is_solution(cell):
            continue
        if cell.cell_type == "markdown" and HEADING.search(cell.source):
            types[index] = "slide"
        elif is_figure(cell):
            above = [i for i in range(index) if cells[i].cell_type == "markdown"]
            if not above or is_solution(cells[above[-1]]):
                types[index] = "slide"
            elif above[-1] in led:
                types[index] = "subslide"
            else:
                led.add(above[-1])
                types[above[-1]], types[index] = "slide", "-"
    return types


def annotate(path: Path) -> None:
    """Write the slide types into the notebook, changing nothing else (Jupyter's own format)."""
    notebook = nbformat.read(path, as_version=4)
    for cell, slide_type in zip(notebook.cells, slide_types(notebook.cells), strict=True):
        cell.metadata.setdefault("slideshow", {})["slide_type"] = slide_type
    nbformat.write(notebook, path)


def build(out: Path) -> None:
    """A deck per notebook, the files they load, and an index, all in `out`."""
    if not NPM.is_dir():
        raise SystemExit(f"{NPM} is missing: `make slides` installs it (npm ci)")
    for asset in ASSETS:
        source, target = NPM / asset, out / "lib" / asset
        if source.is_dir():
            shutil.copytree(
                source, target, ignore=shutil.ignore_patterns("*.map"), dirs_exist_ok=True
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    solutions = {"TagRemovePreprocessor": {"enabled": True, "remove_cell_tags": {"solution"}}}
    exporter = SlidesExporter(
        config=Config(solutions),  # as in `make student`, whatever a cell's slide type says
        extra_loaders=[DictLoader({"reslab_slides.html.j2": TEMPLATE})],
        template_file="reslab_slides.html.j2",
        reveal_url_prefix="lib/reveal.js",
        reveal_theme="white",
        reveal_width="1280",  # a laptop's or projector's 16:10, and room for prose
        reveal_height="800",
        reveal_number="c/t",
        require_js_url="lib/requirejs/require.js",
        jquery_url="lib/jquery/dist/jquery.min.js",
        mathjax_url=MATHJAX,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    links = []
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        # The page's <title> (else the file's name): the first line, without the '# '.
        notebook.metadata.title = notebook.cells[0].source.splitlines()[0].removeprefix("# ")
        deck, _ = exporter.from_notebook_node(notebook)
        (out / f"{path.stem}.slides.html").write_text(deck, encoding="utf-8")
        math = re.sub(r"\$(.+?)\$", r"\\(\1\\)", html.escape(notebook.metadata.title))
        links.append(f'<li><a href="{path.stem}.slides.html">{math}</a></li>')
    (out / "index.html").write_text(INDEX.replace("LINKS", "\n".join(links)), encoding="utf-8")


# The index typesets the titles' math with the same MathJax (`\(...\)`, its default delimiters).
INDEX = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ResLab: workshop slides</title>
<link rel="icon" href="data:,">
<style>body {{ font: 1.2em/1.6 sans-serif; max-width: 48em; margin: 2em auto; }}</style>
<script src="{MATHJAX}"></script></head>
<body><h1>ResLab: workshop slides</h1>
<p>One deck per notebook: arrow keys or space to advance, Esc for an overview, S for notes.</p>
<ol>
LINKS
</ol></body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("annotate", help="write slide types").add_argument("paths", nargs="+")
    commands.add_parser("build", help="write the decks").add_argument("out")
    args = parser.parse_args()
    if args.command == "annotate":
        for path in args.paths:
            annotate(Path(path))
    else:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        build(out)
        print(f"{len(NOTEBOOKS)} decks in {out}")


if __name__ == "__main__":
    main()
