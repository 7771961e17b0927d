"""Small fixes to the course website's pages (a Sphinx extension, loaded by _config.yml).

- Jupyter Book 1.x registers sphinx-thebe's inline script twice, and the second copy
  re-declares a ``const``: a page error in every browser. Each page keeps one copy of every
  script.
- pydata-sphinx-theme logs "Got invalid theme mode" on a first visit unless the default
  colour mode is set, so it is set to follow the reader's system setting.
- sphinx-mathjax-offline copies all of MathJax 3 (24 MB) into the site; the pages load only
  `tex-chtml.js`, its fonts, the TeX extensions it fetches on demand and the accessibility
  parts its menu offers. The rest is removed after the build, and so are the themes' source
  maps (`*.map`, read only by a browser's developer tools) and Font Awesome's TrueType copies
  of fonts every browser loads as WOFF2.
"""

from pathlib import Path

from sphinx.application import Sphinx

MATHJAX_KEPT = (
    "tex-chtml.js",
    "output/chtml/fonts/woff-v2/",
    "input/tex/extensions/",
    "a11y/",
    "sre/",
    "ui/",
)


def _script_key(script) -> tuple:
    # An inline script's filename is None or "" depending on who added it; its body counts.
    attributes = getattr(script, "attributes", {})
    return (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))


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


def _prune_static(app: Sphinx, exception: Exception | None) -> None:
    static = Path(app.outdir) / "_static"
    if exception is not None or not static.is_dir():
        return
    for path in sorted(static.rglob("*"), reverse=True):  # files before their folders
        if path.is_file() and _unused(static, path):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    # After sphinx-mathjax-offline (priority 500) has copied MathJax into the site.
    app.connect("build-finished", _prune_static, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
