"""The course website (`make book`) and the workshop copies (`make student`).

The site is built from the committed notebooks into a temporary folder, its links are
followed on disk, and its pages are opened in headless Chromium: each must show its title,
its figures and rendered math, load nothing from outside the site, and raise no page error.
"""

import base64
import collections
import functools
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COURSE = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
STEMS = [path.stem for path in COURSE]
REPOSITORY = yaml.safe_load((NOTEBOOKS / "_config.yml").read_text())["repository"]["url"]


def make(target: str, **variables: Path) -> None:
    """Run a Makefile target as a user would; show its output when it fails."""
    args = [f"{name}={value}" for name, value in variables.items()]
    done = subprocess.run(["make", "-s", target, *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"


def first_heading(path: Path) -> str:
    """The notebook's title: its first markdown line, without the leading '# '."""
    notebook = nbformat.read(path, as_version=4)
    return notebook.cells[0].source.splitlines()[0].removeprefix("# ")


def png_figures(path: Path) -> list[bytes]:
    notebook = nbformat.read(path, as_version=4)
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]


def png_outputs(path: Path) -> int:
    return len(png_figures(path))


def has_math(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    prose = [re.sub(r"`[^`]*`", "", c.source) for c in notebook.cells if c.cell_type == "markdown"]
    return any("$" in text for text in prose)  # a $ inside `code` is not math


class Links(HTMLParser):
    """Every href/src on a page, and every id it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.links.append((tag, name, value))


@functools.cache
def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text())
    return links


# --- the site on disk ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    make("book", BOOK_DIR=out)
    return out / "_build" / "html"


def test_toc_lists_every_notebook_in_syllabus_order():
    toc = yaml.safe_load((NOTEBOOKS / "_toc.yml").read_text())
    assert toc["root"] == "intro"
    assert [chapter["file"] for chapter in toc["chapters"]] == [*STEMS, "instructor"]


def test_landing_page_and_readme_link_every_notebook_in_order():
    intro = (NOTEBOOKS / "intro.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for text, prefix in ((intro, ""), (readme, "notebooks/")):
        positions = [text.find(f"]({prefix}{stem}.ipynb)") for stem in STEMS]
        assert -1 not in positions, f"a notebook is missing from the syllabus: {positions}"
        assert positions == sorted(positions)


def test_every_notebook_has_a_page(site):
    for stem in ["index", "intro", *STEMS, "instructor"]:
        assert (site / f"{stem}.html").is_file(), f"missing page {stem}.html"


def test_internal_links_and_anchors_resolve(site):
    broken = []
    for page in sorted(site.glob("*.html")):
        for tag, _, value in parse(page).links:
            parts = urlsplit(value)
            if parts.scheme or value.startswith("//"):
                continue  # external links are links, not part of the site
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.name}: <{tag}> {value}")
            elif target.suffix == ".html" and parts.fragment:
                anchor_exists = unquote(parts.fragment) in parse(target).ids
                if not anchor_exists:
                    broken.append(f"{page.name}: <{tag}> {value} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_pages_load_nothing_from_outside_the_site(site):
    loads = {("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src")}
    outside = []
    for page in sorted(site.glob("*.html")):
        for tag, attribute, value in parse(page).links:
            if (tag, attribute) in loads and urlsplit(value).scheme in ("http", "https"):
                outside.append(f"{page.name}: <{tag} {attribute}={value}>")
    assert not outside, "pages that need the internet:\n" + "\n".join(outside)
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_notebook_pages_offer_colab_and_download(site):
    for path in COURSE:
        html = (site / f"{path.stem}.html").read_text()
        repository = REPOSITORY.removeprefix("https://github.com/")
        colab = (
            f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{path.name}"
        )
        assert colab in html, f"{path.stem}: no Colab link to {colab}"
        assert f'href="_sources/{path.name}"' in html, f"{path.stem}: no download link"
        # The download is the notebook to run, without the outputs the page shows (their
        # figures would more than double the site): every cell as committed, nothing run yet.
        downloaded = nbformat.read(site / "_sources" / path.name, as_version=4)
        nbformat.validate(downloaded)
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("widgets", None)  # the state of widgets among the outputs
        assert downloaded == notebook, f"{path.stem}: the download is not the notebook"


def test_site_figures_are_the_notebooks_figures(site):
    """The site saves opaque figures as RGB (notebooks/_ext/reslab_site.py): same pixels."""
    for path in COURSE:
        for png in png_figures(path):
            shown = site / "_images" / f"{hashlib.sha256(png).hexdigest()}.png"  # myst-nb's name
            with Image.open(io.BytesIO(png)) as committed, Image.open(shown) as copy:
                assert copy.size == committed.size and copy.mode in ("RGB", committed.mode)
                pixels = copy.convert("RGBA").tobytes()
                assert pixels == committed.convert("RGBA").tobytes(), f"{path.stem}: {shown.name}"


def test_repository_url_is_one_setting():
    setup_cells = [nbformat.read(path, as_version=4).cells for path in COURSE]
    for path, cells in zip(COURSE, setup_cells, strict=True):
        installs = re.findall(r"git\+(https://\S+?)\"", "".join(c.source for c in cells))
        assert installs == [REPOSITORY], f"{path.name} installs reslab from {installs}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Homepage = "{REPOSITORY}"' in pyproject


# --- the site in a browser -------------------------------------------------------------------


def chromium() -> str:
    for name in (os.environ.get("RESLAB_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    flags = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium(), args=flags)
        yield chrome, f"http://127.0.0.1:{server.server_address[1]}"
        chrome.close()
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def open_page(browser, name: str, width: int, height: int, before: str = ""):
    """Load a page (in a fresh browser profile, after running the script `before`); return it
    with the page errors, console errors (a missing file is one) and outside requests."""
    chrome, base = browser
    page = chrome.new_page(viewport={"width": width, "height": height})
    if before:
        page.add_init_script(before)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(base) or request.url.startswith("data:")
            else problems.append(f"outside request: {request.url}")
        ),
    )
    page.goto(f"{base}/{name}.html", wait_until="networkidle")
    # Pages with math load MathJax (deferred); wait until it has typeset them, for 30 s at
    # most: a MathJax that never finishes shows as formulas missing, not as a test that hangs.
    page.evaluate(
        "() => window.MathJax?.startup?.promise && Promise.race("
        "[MathJax.startup.promise, new Promise(done => setTimeout(done, 30000))]).then(() => 1)"
    )
    return page, problems


PAGES = [
    ("intro", "ResLab: residual networks, hands-on", 0, True),
    ("instructor", "For instructors", 0, False),
] + [(path.stem, first_heading(path), png_outputs(path), has_math(path)) for path in COURSE]


@pytest.mark.parametrize(("name", "title", "figures", "math"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_in_a_browser(browser, name, title, figures, math):
    page, problems = open_page(browser, name, 1280, 900)
    heading = page.locator("article h1").first.inner_text().replace("’", "'")  # smart quotes
    # The title's words before any math must be on the page (math renders as MathJax).
    assert heading.startswith(title.split("$")[0].strip()), f"{heading!r} vs {title!r}"
    loaded = page.evaluate(
        "() => [...document.querySelectorAll('article .cell_output img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length"
    )
    assert loaded == figures, f"{loaded} of {figures} figures loaded"
    alts = page.evaluate(
        "() => [...document.querySelectorAll('article .cell_output img')].map(i => i.alt)"
    )
    assert all(len(alt) > 40 and not alt.endswith(".png") for alt in alts), alts  # described
    rendered = page.locator("mjx-container").count()
    assert (rendered > 0) == math, f"{rendered} formulas rendered"
    assert page.locator("mjx-merror").count() == 0, "MathJax could not typeset a formula"
    page.close()
    assert not problems, "\n".join(problems)


# Code and tables wider than a phone must scroll inside their own box, not be cut off or
# shrunk: each one's nearest horizontal scroll container (or itself) fits the screen.
UNREADABLE_ON_A_PHONE = """() => [...document.querySelectorAll('article pre, article table')]
  .flatMap(element => {
    let box = element;
    while (box.parentElement && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX))
      box = box.parentElement;
    const edge = box.getBoundingClientRect(), size = parseFloat(getComputedStyle(element).fontSize);
    const what = element.tagName + ' "' + element.textContent.trim().slice(0, 40) + '"';
    return [
      ...(edge.left < -1 || edge.right > innerWidth + 1 ? [what + ' runs off the screen'] : []),
      ...(size < 11 ? [what + ' is set in ' + size + ' px'] : []),
    ];
  })"""


@pytest.mark.parametrize("name", [p[0] for p in PAGES])
def test_page_fits_a_phone(browser, name):
    page, problems = open_page(browser, name, 390, 844)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a phone's screen"
    assert page.locator("article h1").first.is_visible()
    assert not page.locator(".bd-sidebar-primary").first.is_visible(), "sidebar covers the page"
    unreadable = page.evaluate(UNREADABLE_ON_A_PHONE)
    page.close()
    assert not unreadable, "\n".join(unreadable)
    assert not problems, "\n".join(problems)


# Emoji and pictographs render as empty boxes where no emoji font is installed.
NEEDS_AN_EMOJI_FONT = re.compile("[\u2600-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]")


def test_no_page_needs_an_emoji_font(site):
    found = {
        page.name: sorted(set(NEEDS_AN_EMOJI_FONT.findall(page.read_text(encoding="utf-8"))))
        for page in site.glob("*.html")
    }
    assert not {name: chars for name, chars in found.items() if chars}


def test_committed_notebooks_carry_no_widget_state():
    # nbconvert saves the explorers' widget state; the website would then load a widget
    # library from a CDN to show it. tools/after_run.py drops it (README).
    saved = [path.name for path in COURSE if "widgets" in nbformat.read(path, 4).metadata]
    assert not saved, f"run tools/after_run.py on {saved}"


# MathJax stores the menu's settings in the browser; these load components the site does not
# ship (notebooks/_ext/reslab_site.py), so a reader who chose them on an earlier version of
# the site would see no math at all unless the site forgets them.
OLD_MENU_SETTINGS = '{"explorer": true, "collapsible": true, "renderer": "SVG"}'


@pytest.mark.parametrize("saved", ["", OLD_MENU_SETTINGS], ids=["fresh", "old-settings"])
def test_mathjax_menu_offers_only_what_the_site_ships(browser, saved):
    """Right-clicking a formula opens MathJax's menu without fetching anything missing: it
    shows a formula's TeX, and its accessibility part is the MathML hidden in every formula
    for screen readers (no Speech Rule Engine, whose speech and explorer it no longer offers)."""
    before = f"localStorage.setItem('MathJax-Menu-Settings', '{saved}')" if saved else ""
    page, problems = open_page(browser, STEMS[1], 1280, 900, before)
    formulas = page.locator("mjx-container")
    assert formulas.count() > 0
    assert page.locator("mjx-container > mjx-assistive-mml").count() == formulas.count()

    def submenu(*path: str) -> list[str]:
        page.keyboard.press("Escape")
        formulas.first.click(button="right")
        for name in path:
            page.locator(".CtxtMenu_Menu .CtxtMenu_MenuItem:visible", has_text=name).last.hover()
        return page.evaluate(
            "() => [...[...document.querySelectorAll('.CtxtMenu_Menu')].at(-1).children]"
            ".map(item => item.textContent.replace(/[✓►]/g, '').trim()).filter(Boolean)"
        )

    assert submenu("Accessibility") == ["Include in Tab Order", "Include Hidden MathML"]
    assert submenu("Math Settings", "Math Renderer") == ["CHTML"]
    assert "Language" not in submenu()
    submenu("Show Math As")
    page.locator(".CtxtMenu_MenuItem:visible", has_text="TeX Commands").last.click()
    assert page.locator(".CtxtMenu_Info").last.inner_text().strip()
    page.close()
    assert not problems, "\n".join(problems)


# --- workshop copies -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    make("student", STUDENT_DIR=out)
    return out


def exercise_names(cells) -> list[str]:
    return [
        re.search(r"def (\w+)", cell.source).group(1)
        for cell in cells
        if "solution" in cell.metadata.get("tags", []) and "def " in cell.source
    ]


def test_student_copies_have_no_solutions_and_no_outputs(student):
    exercises = 0
    for path in COURSE:
        original = nbformat.read(path, as_version=4).cells
        cells = nbformat.read(student / path.name, as_version=4).cells
        assert not [c for c in cells if "solution" in c.metadata.get("tags", [])]
        assert all(c.outputs == [] and c.execution_count is None for c in cells if "outputs" in c)
        solutions = [
            c.source
            for c in original
            if "solution" in c.metadata.get("tags", []) and "def " in c.source
        ]
        text = "\n".join(c.source for c in cells)
        assert not [s for s in solutions if s in text], f"{path.name}: a solution survived"
        for name in exercise_names(original):
            definitions = [c.source for c in cells if f"def {name}(" in c.source]
            assert len(definitions) == 1, f"{path.name}: {name} defined {len(definitions)} times"
            assert "raise NotImplementedError" in definitions[0]
            exercises += 1
    assert exercises >= 6  # 00, 01 (two), 03, 04, 05


def test_student_checkers_still_run(student, monkeypatch):
    """A workshop copy runs top to bottom, and its checkers say the exercise is not done."""
    from nbclient import NotebookClient

    name = COURSE[0].name  # 00: seconds to run, one exercise and its checker
    notebook = nbformat.read(student / name, as_version=4)
    monkeypatch.setenv("RESLAB_PROFILE", "quick")
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    NotebookClient(notebook, timeout=300, resources=resources).execute()
    verdicts = [
        json.dumps(output)
        for cell in notebook.cells
        if cell.cell_type == "code" and "checks.check_" in cell.source
        for output in cell.outputs
    ]
    assert verdicts and all("Not attempted yet" in verdict for verdict in verdicts), verdicts


def test_site_ships_only_what_its_pages_load(site):
    """MathJax without its unused components (the Speech Rule Engine among them), no source
    maps, no TrueType font copies, notebook downloads without outputs
    (notebooks/_ext/reslab_site.py): about 9 MB instead of 35 MB."""
    files = [p for p in site.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".map"]
    mathjax = sum(
        p.stat().st_size for p in (site / "_static" / "mathjax").rglob("*") if p.is_file()
    )
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file() and mathjax < 2.5e6
    sizes = collections.Counter()  # by top folder, to say what grew
    for path in files:
        parts = path.relative_to(site).parts
        sizes[parts[0] if len(parts) > 1 else "pages"] += path.stat().st_size
    weights = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.most_common())
    assert sizes.total() <= 10e6, f"the site weighs more than 10 MB: {weights}"
