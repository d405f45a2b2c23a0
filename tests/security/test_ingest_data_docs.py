"""Issue 23, defect 8: markup in a department extract must not become live HTML in the data docs.

An extract's values reach the Great Expectations validation pages (as unexpected values); a
district of `<script>…</script>` rendered as it is would run in the browser of whoever opens the
ingest report."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from pipelines.ingest.flow import ingest_all
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv

SCRIPT = "<script>alert('district')</script>"
IMAGE = "<img src=x onerror=alert('status')>"


class _Page(HTMLParser):
    """What a browser would make of a page: the elements with their attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.elements.append(("script-body", {"text": data}))
        else:
            self.text.append(data)


def _pages(home: Path) -> list[_Page]:
    docs = home / "lake" / "reports" / "gx" / "gx" / "uncommitted" / "data_docs"
    pages = []
    for path in sorted(docs.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages.append(page)
    return pages


def test_markup_in_an_extract_is_shown_as_text_in_the_data_docs(data_home: Path) -> None:
    rows = [
        registration_row(),
        registration_row("91440604MA4UJ2KX2Q", district=SCRIPT),
        registration_row("91440604MA4UJ2KX3Q", status=IMAGE),
    ]
    write_csv(data_home, "registration", rows)
    settings = load_settings(data_home=data_home, ingest={"max_quarantine_share": 1.0})
    result = ingest_all(settings, sources=["registration"])
    assert result.data_docs.is_file()
    pages = _pages(data_home)
    assert pages, "the data docs were not built"
    for page in pages:
        # No element the extract planted: no handler attribute, no script running its code.
        assert not [attrs for _, attrs in page.elements if "onerror" in attrs]
        assert not [attrs for tag, attrs in page.elements if tag == "img" and attrs.get("src") == "x"]
        assert not [attrs for tag, attrs in page.elements if tag == "script-body" and "alert(" in str(attrs["text"])]
    # The values are still reported, as text a reader can see.
    shown = "".join(text for page in pages for text in page.text)
    assert SCRIPT in shown and IMAGE in shown
