"""Small fixes to the course website's pages (a Sphinx extension, loaded by _config.yml).

- Jupyter Book 1.x registers sphinx-thebe's inline script twice, and the second copy
  re-declares a ``const``: a page error in every browser. Each page keeps one copy of every
  script.
- pydata-sphinx-theme logs "Got invalid theme mode" on a first visit unless the default
  colour mode is set, so it is set to follow the reader's system setting.
- sphinx-mathjax-offline copies all of MathJax 3 (24 MB) into the site; the pages load only
  `tex-chtml.js` (which has the menu and the hidden MathML for screen readers built in), its
  fonts and the TeX extensions it fetches on demand. The rest is removed after the build,
  and so are the themes' source maps (`*.map`, read only by a browser's developer tools)
  and Font Awesome's TrueType copies of fonts every browser loads as WOFF2.
- MathJax's menu would offer speech, Braille, the expression explorer and collapsible math,
  which load the Speech Rule Engine (4 MB, and more languages than the course has), and an
  SVG renderer; the site ships neither, so the menu does not offer them (MATHJAX_MENU).
- The "download .ipynb" button serves a copy of the notebook without its outputs (nor the
  widget state saved with them), for running it: the page shows the outputs, and their
  figures would more than double the site.
- Matplotlib saves its figures as RGBA even when every pixel is opaque; the site's copies
  are saved as RGB, the same pixels in 10% fewer bytes.
"""

from pathlib import Path

import nbformat
from PIL import Image
from sphinx.application import Sphinx

MATHJAX_KEPT = ("tex-chtml.js", "output/chtml/fonts/woff-v2/", "input/tex/extensions/")

# Runs on pages with math, after their `window.MathJax` configuration and before the
# deferred tex-chtml.js. The menu keeps showing and copying formulas (TeX, MathML), zoom,
# scale, the tab order and the hidden MathML that screen readers read (on by default).
# A choice saved in the browser by an earlier version of the site (MathJax stores the
# menu's settings) must not load a component the site no longer ships.
MATHJAX_MENU = """\
window.MathJax.startup = {
  ready() {
    try {
      const saved = JSON.parse(localStorage.getItem("MathJax-Menu-Settings") || "{}");
      for (const name of ["explorer", "collapsible", "renderer"]) delete saved[name];
      localStorage.setItem("MathJax-Menu-Settings", JSON.stringify(saved));
    } catch (error) {}  // no storage: nothing was saved either
    MathJax.startup.defaultReady();
    const menu = MathJax.startup.document.menu.menu;
    for (const item of menu.findID("Accessibility").submenu.items) {
      if (!["InTabOrder", "AssistiveMml"].includes(item.id)) item.hide();
    }
    menu.findID("Language").hide();  // the speech languages
    menu.findID("Settings", "Renderer", "SVG").hide();
  },
};"""


def _script_key(script) -> tuple:
    # An inline script's filename is None or "" depending on who added it; its body counts.
    attributes = getattr(script, "attributes", {})
    return (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))


def _mathjax_menu(app: Sphinx, pagename, templatename, context, doctree) -> None:
    mathjax = "_static/" + app.config.mathjax_path
    if any(getattr(s, "filename", s) == mathjax for s in context.get("script_files", [])):
        app.builder.add_js_file("", body=MATHJAX_MENU)


def _one_copy_of_each_script(app: Sphinx, pagename, templatename, context, doctree) -> None:
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts
    context.setdefault("default_mode", "auto")


def _unused(static: Path, path: Path) -> bool:
    relative = path.relative_to(static).as_posix()
    if relative.startswith("mathjax/"):
        return not relative.removeprefix("mathjax/").startswith(MATHJAX_KEPT)
    return path.suffix == ".map" or (path.suffix == ".ttf" and "fontawesome" in relative)


def _prune_static(static: Path) -> None:
    for path in sorted(static.rglob("*"), reverse=True):  # files before their folders
        if path.is_file() and _unused(static, path):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _clear_outputs(sources: Path) -> None:
    for path in sources.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("widgets", None)
        nbformat.write(notebook, path)


def _opaque_as_rgb(images: Path) -> None:
    for path in images.glob("*.png"):
        with Image.open(path) as image:
            image.load()
        if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
            image.convert("RGB").save(path, dpi=image.info.get("dpi"))


def _lighten(app: Sphinx, exception: Exception | None) -> None:
    out = Path(app.outdir)
    if exception is None and (out / "_static").is_dir():
        _prune_static(out / "_static")
        _clear_outputs(out / "_sources")
        _opaque_as_rgb(out / "_images")


def setup(app: Sphinx) -> dict:
    # After sphinx.ext.mathjax (priority 500) has added MathJax to the page's scripts.
    app.connect("html-page-context", _mathjax_menu, priority=800)
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    # After sphinx-mathjax-offline (priority 500) has copied MathJax into the site.
    app.connect("build-finished", _lighten, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
