"""Small fixes to the course website's pages (a Sphinx extension, loaded by _config.yml).

- Jupyter Book 1.x registers sphinx-thebe's inline script twice, and the second copy
  re-declares a ``const``: a page error in every browser. Each page keeps one copy of every
  script.
- pydata-sphinx-theme logs "Got invalid theme mode" on a first visit unless the default
  colour mode is set, so it is set to follow the reader's system setting.
"""

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
