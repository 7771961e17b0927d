"""The workshop decks (`make slides`, tools/slides.py).

Every notebook carries the slide types that tools/slides.py's rules give it; the decks are
built into a temporary folder and opened in headless Chromium, as the website is: each opens
with nothing fetched from outside its folder, advances, shows its figures and typesets its
math, and holds exactly the annotated cells (never a worked solution).
"""

import importlib.util
import re

import nbformat
import pytest
import test_book
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from test_book import COURSE, ROOT, STEMS, make, open_page, parse

spec = importlib.util.spec_from_file_location("slides", ROOT / "tools" / "slides.py")
slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slides)

browser = test_book.browser  # the website test's fixture, serving this module's `site`: the decks
ANNOTATE = ".venv/bin/python tools/slides.py annotate notebooks/[0-9][0-9]_*.ipynb"
REVEAL = "lib/reveal.js/dist/reveal.js"  # loaded through require.js, as the template does
# MathJax 2 has typeset the page (the "End" of its start-up) and every later rerendering.
TYPESET = """() => new Promise(done => MathJax.Hub.Register.StartupHook("End",
  () => MathJax.Hub.Queue(() => done(1))))"""


def deck_cells(path) -> list[nbformat.NotebookNode]:
    """The cells the notebook's own slide metadata puts in its deck."""
    cells = nbformat.read(path, as_version=4).cells
    return [c for c in cells if c.metadata.get("slideshow", {}).get("slide_type", "-") != "skip"]


def has_math(cells) -> bool:
    prose = [re.sub(r"`[^`]*`", "", c.source) for c in cells if c.cell_type == "markdown"]
    return any("$" in text for text in prose)  # a $ inside `code` is not math


# --- the rules and the notebooks' metadata ----------------------------------------------------


def figure(source: str = "plot()") -> nbformat.NotebookNode:
    return new_code_cell(source, outputs=[new_output("display_data", {"image/png": "iVBO"})])


def test_rules_on_a_small_notebook():
    solution = {"tags": ["solution"]}
    cells = [
        new_markdown_cell("# 99 · Title\n\n**You will learn**"),
        new_code_cell("import reslab"),
        new_markdown_cell("## A section\n\nProse."),
        new_code_cell("x = 1"),
        figure(),
        figure(),
        new_markdown_cell("## Exercise: write it"),
        new_code_cell("def f(): raise NotImplementedError"),
        new_markdown_cell("Solution:", metadata=solution),
        figure("def f(): return 1"),
        figure(),
        new_markdown_cell("Prose with no heading."),
        figure(),
        new_markdown_cell("Closing prose.\n\n## Summary\n\n- one thing"),
    ]
    cells[9].metadata = solution
    assert slides.slide_types(cells) == [
        *("slide", "skip", "slide", "skip", "-", "subslide", "slide", "skip", "skip", "skip"),
        *("slide", "slide", "-", "slide"),
    ]


@pytest.mark.parametrize("path", COURSE, ids=STEMS)
def test_deck_holds_title_figures_exercise_and_summary(path):
    cells = nbformat.read(path, as_version=4).cells
    kept = [c for c, kind in zip(cells, slides.slide_types(cells), strict=True) if kind != "skip"]
    assert kept[0] is cells[0] and "**You will learn**" in kept[0].source
    headings = "\n".join(c.source for c in kept if c.cell_type == "markdown")
    assert re.search(r"^#+ .*exercise", headings, re.IGNORECASE | re.MULTILINE), path.name
    assert re.search(r"^#+ Summary", headings, re.MULTILINE), path.name
    figures = [c for c in cells if slides.is_figure(c) and not slides.is_solution(c)]
    assert [c for c in kept if slides.is_figure(c)] == figures
    assert not [c for c in kept if slides.is_solution(c)]
    assert 3 <= len(kept) <= 20, f"{path.name}: {len(kept)} cells is not a short deck"


@pytest.mark.parametrize("path", COURSE, ids=STEMS)
def test_notebook_carries_its_slide_types(path):
    """A notebook that is new, or changed since it was annotated, fails until annotated."""
    cells = nbformat.read(path, as_version=4).cells
    written = [c.metadata.get("slideshow", {}).get("slide_type") for c in cells]
    assert written == slides.slide_types(cells), f"{path.name} is not annotated: run {ANNOTATE}"


# --- the decks on disk and in a browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    make("slides", SLIDES_DIR=out)
    return out


def test_decks_load_nothing_from_outside_their_folder(site):
    loads = {("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src")}
    outside, missing = [], []
    for page in sorted(site.glob("*.html")):
        for tag, attribute, value in parse(page).links:
            if (tag, attribute) not in loads or value.startswith("data:"):
                continue
            if re.match(r"(https?:)?//", value):
                outside.append(f"{page.name}: <{tag} {attribute}={value}>")
            elif not (site / value.split("?")[0]).is_file():
                missing.append(f"{page.name}: {value}")
    assert not outside, "decks that need the internet:\n" + "\n".join(outside)
    assert not missing, "files the decks load are missing:\n" + "\n".join(missing)
    # What the template loads in turn (reveal.js through require.js, MathJax's parts) is
    # checked in the browser; of MathJax's 70 MB, only what the decks use is copied.
    assert sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) < 30e6


def test_index_links_every_deck(site, browser):
    links = [value for tag, _, value in parse(site / "index.html").links if tag == "a"]
    assert links == [f"{stem}.slides.html" for stem in STEMS]
    assert all((site / link).is_file() for link in links)
    page, problems = open_page(browser, "index", 1280, 800)
    page.evaluate(TYPESET)
    titles = page.locator("li a").all_inner_texts()
    assert [title[:2] for title in titles] == [stem[:2] for stem in STEMS]
    assert page.locator(".mjx-chtml").count() > 0, "03's title is math"
    page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", COURSE, ids=STEMS)
def test_deck_holds_exactly_the_annotated_cells(site, path):
    html = (site / f"{path.stem}.slides.html").read_text()
    ids = re.findall(r'id="cell-id=([^"]+)"', html)
    assert ids == [c.id for c in deck_cells(path)]
    solutions = [c.id for c in nbformat.read(path, as_version=4).cells if slides.is_solution(c)]
    assert solutions and not set(solutions) & set(ids), "a worked solution is in the deck"
    assert not re.search(r'class="[^"]*jp-InputArea-editor', html), "a deck shows code"


# Step through the whole deck with Reveal.next(), collecting the figures each slide shows, and
# the slides that run off the bottom of the screen (a long one must scroll instead).
WALK = """() => new Promise(done => require([REVEAL], Reveal => {
  Reveal.slide(0, 0);
  const first = Reveal.getCurrentSlide(), shown = new Set(), cut = [];
  let steps = 0, moved = false;
  for (;;) {
    const slide = Reveal.getCurrentSlide();
    for (const img of slide.querySelectorAll('img')) {
      if (img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0) {
        shown.add(img);
      }
    }
    if (slide.offsetTop + slide.offsetHeight > Reveal.getConfig().height) cut.push(steps + 1);
    if (Reveal.isLastSlide() || steps > 100) break;
    Reveal.next();
    moved = moved || Reveal.getCurrentSlide() !== first;
    steps += 1;
  }
  done({slides: Reveal.getTotalSlides(), steps, moved, figures: shown.size, cut,
        images: document.querySelectorAll('.reveal img').length});
}))""".replace("REVEAL", repr(REVEAL))


@pytest.mark.parametrize("path", COURSE, ids=STEMS)
def test_deck_opens_advances_and_shows_figures_and_math(browser, path):
    page, problems = open_page(browser, f"{path.stem}.slides", 1280, 800)
    page.wait_for_selector(".reveal.ready")
    page.evaluate(TYPESET)
    typeset = page.locator(".mjx-chtml").count()
    walk = page.evaluate(WALK)
    page.evaluate(TYPESET)  # the template typesets each slide again as it is shown
    assert walk["slides"] >= 3 and walk["moved"], walk
    assert walk["steps"] == walk["slides"] - 1, f"Reveal.next() did not reach every slide: {walk}"
    cells = deck_cells(path)
    figures = sum(slides.is_figure(c) for c in cells)
    assert walk["images"] == walk["figures"] == figures, f"{figures} figures: {walk}"
    assert not walk["cut"], f"slides cut off at the bottom of the screen: {walk['cut']}"
    assert (typeset > 0) == has_math(cells), f"{typeset} formulas typeset"
    assert page.locator(".mjx-merror").count() == 0, "MathJax could not typeset a formula"
    page.close()
    assert not problems, "\n".join(problems)
