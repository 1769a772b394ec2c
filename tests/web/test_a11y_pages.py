"""WCAG 2.1 AA defects a black-box probe found (axe-core and Chromium's accessibility tree), checked on
the pages as the server renders them:

- the dashboard's KPI tiles were links given role=listitem: announced as list items with no name
  and missing from the links list (4.1.2); they are links inside list items;
- the dashboard's expiries table sat outside any `.table-wrap`, and the page scrolled sideways at
  320 px (1.4.10); every table of every dashboard variant now scrolls in its own box;
- a `.table-wrap` that scrolls could not take keyboard focus (axe scrollable-region-focusable):
  each is a focusable region named by its table's caption;
- a packet's SHA-256 was cut to 16 characters with the rest in a `title` (mouse only), and an
  expiry 30 days or less away was said by red alone (1.3.1, 1.4.1);
- the auditor's grant banner sat outside any landmark, the parameters tables shared one caption and
  the change form's "blank: today" hint was not tied to its field.

The pages are parsed (html.parser) into a small tree, so the checks read structure, not text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock
from tests.web.conftest import AS_OF

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CSS = Path(__file__).resolve().parents[2] / "engine" / "web" / "static" / "vigil.css"


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = field(default=None, repr=False)
    children: list[Node | str] = field(default_factory=list, repr=False)

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, ident: str) -> Node:
        (found,) = self.find_all(id=ident)
        return found

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.here = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.here)
        self.here.children.append(node)
        if tag not in VOID:
            self.here = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.here.children.append(Node(tag, {k: v or "" for k, v in attrs}, parent=self.here))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.here
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.here = node.parent

    def handle_data(self, data: str) -> None:
        self.here.children.append(data)


def dom(html_text: str) -> Node:
    builder = _Builder()
    builder.feed(html_text)
    builder.close()
    return builder.root


def get(client: TestClient, url: str) -> Node:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return dom(r.text)


@pytest.fixture
def officer(web_client: Callable[[str], TestClient]) -> TestClient:
    from engine.web import dashboard

    dashboard._expiry_cache.clear()
    return web_client("officer")


DASHBOARDS = ["/ui/dashboard", "/ui/dashboard?establishment=E1", "/ui/dashboard?establishment=E2",
              "/ui/dashboard?expiring=all"]


# -- B1: the KPI tiles are links ---------------------------------------------------------------------------


def test_the_kpi_tiles_are_links_inside_list_items(officer: TestClient) -> None:
    with clock.frozen(AS_OF):
        page = get(officer, "/ui/dashboard")
    tiles = [n for n in page.walk() if "kpi" in n.classes()]
    assert len(tiles) == 4, "open, overdue, due soon and overdue tasks"
    for tile in tiles:
        assert tile.tag == "a" and "role" not in tile.attrs, tile.attrs  # a link's role is its own
        assert tile.parent is not None and tile.parent.tag == "li" and "role" not in tile.parent.attrs
        assert tile.parent.parent is not None and tile.parent.parent.tag == "ul"
        # the name a screen reader gives the link: the count, then what it counts, words apart
        assert re.fullmatch(r"\d+ [a-z ]+", tile.text()), tile.text()
    assert [t.text().split(" ", 1)[1] for t in tiles] == ["open findings", "overdue", "due soon", "overdue tasks"]


def _six(colour: str) -> str:
    return colour if len(colour) == 7 else "#" + "".join(c * 2 for c in colour[1:])


def _contrast(a: str, b: str) -> float:
    def lum(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_a_kpi_tile_border_stands_out_at_three_to_one() -> None:
    """1.4.11: the tile's edge is what shows it is a control; #c9ced6 on the page's #f5f6f8 is 1.46:1."""
    css = CSS.read_text(encoding="utf-8")
    variables = {name: _six(value) for name, value in re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", css)}
    rule = re.search(r"(?m)^\.kpi \{([^}]*)\}", css)
    assert rule, "no .kpi rule in vigil.css"
    border = re.search(r"border:[^;]*?(#[0-9a-fA-F]{3,6}\b|var\(--([\w-]+)\))", rule.group(1))
    assert border, rule.group(1)
    colour = _six(border.group(1)) if border.group(1).startswith("#") else variables[border.group(2)]
    for background in (variables["bg"], variables["card"]):
        assert _contrast(colour, background) >= 3, (colour, background, _contrast(colour, background))


# -- B2: no dashboard table widens the page -----------------------------------------------------------------


@pytest.mark.parametrize("url", DASHBOARDS)
def test_every_dashboard_table_scrolls_in_its_own_box(officer: TestClient, url: str) -> None:
    with clock.frozen(AS_OF):
        page = get(officer, url)
    tables = [t for t in page.find_all("table") if not any(a.tag == "details" for a in t.ancestors())]
    assert tables, url
    if "E2" not in url:
        assert any(t.attrs.get("id") == "expiries" for t in tables), url
    for table in tables:
        assert any("table-wrap" in a.classes() for a in table.ancestors()), (url, table.attrs)


# -- C1: a table that scrolls can be scrolled from the keyboard ---------------------------------------------


def _wraps_are_named_regions(page: Node, url: str) -> int:
    wraps = [n for n in page.walk() if "table-wrap" in n.classes()]
    for wrap in wraps:
        (table,) = wrap.find_all("table")[:1]
        captions = table.find_all("caption")
        assert captions, (url, table.attrs)
        assert wrap.attrs.get("tabindex") == "0", (url, wrap.attrs)
        assert wrap.attrs.get("role") == "region", (url, wrap.attrs)
        assert wrap.attrs.get("aria-label") == captions[0].text() != "", (url, wrap.attrs, captions[0].text())
    return len(wraps)


def test_every_table_wrap_is_a_focusable_region_named_by_its_caption(
        web_client: Callable[[str], TestClient]) -> None:
    officer, liaison, auditor = web_client("officer"), web_client("liaison"), web_client("auditor")
    with clock.frozen(AS_OF):
        finding = next(a.attrs["href"] for a in get(officer, "/ui/findings").find_all("a")
                       if a.attrs.get("href", "").startswith("/ui/findings/F-"))
        pages = [(officer, u) for u in [*DASHBOARDS, "/ui/findings", finding, "/ui/tasks", "/ui/records/credential/C1",
                                        "/ui/audit", "/ui/audit/trail", "/ui/rulesets", "/ui/records/gaps"]]
        pages += [(liaison, u) for u in ["/ui/params", "/ui/rulesets/demo/2.0.0", "/ui/rulesets/demo/checks",
                                         "/ui/rulesets/demo/2.0.0/rules/DEMO-TRN-001",
                                         "/ui/rulesets/demo/diff?from=1.0.0&to=2.0.0"]]
        pages += [(auditor, "/ui/audit")]
        counted = sum(_wraps_are_named_regions(get(client, url), url) for client, url in pages)
    assert counted >= 15


def test_the_rule_pages_parameters_wrap_rather_than_hide_their_meaning() -> None:
    """At 1366 px the "Parameters it names" table was wider than its column: its Meaning column was
    cut off inside the scroll box. Long names and text break inside their cells."""
    css = CSS.read_text(encoding="utf-8")
    rule = re.search(r"(?m)^table\.params[^{]*\{([^}]*)\}", css)
    assert rule and re.search(r"overflow-wrap:\s*anywhere", rule.group(1)), "table.params cells do not wrap"


def test_the_params_tables_are_marked_to_wrap(web_client: Callable[[str], TestClient]) -> None:
    liaison = web_client("liaison")
    with clock.frozen(AS_OF):
        for url in ("/ui/params", "/ui/rulesets/demo/2.0.0/rules/DEMO-TRN-001"):
            tables = [t for t in get(liaison, url).find_all("table")
                      if any(th.text() == "Meaning" for th in t.find_all("th"))]
            assert tables and all("params" in t.classes() for t in tables), url


# -- C3: nothing said by the mouse or by colour alone -------------------------------------------------------


def test_a_packets_full_hash_is_on_the_page_not_in_a_title(web: dict[str, Any],
                                                           web_client: Callable[[str], TestClient]) -> None:
    from tests.web.conftest import csrf_of

    officer = web_client("officer")
    with clock.frozen(AS_OF):
        token = csrf_of(officer.get("/ui/audit").text)
        built = officer.post("/ui/audit/packets", data={"csrf_token": token, "framework": "demo", "from": "2026-01-01",
                                                        "to": "2026-03-01"}, follow_redirects=False)
        assert built.status_code == 303, built.text[:500]
        page = get(officer, "/ui/audit")
    (table,) = page.find_all("table", id="packets")
    (cell,) = [td for td in table.find_all("td") if td.attrs.get("data-label") == "SHA-256"]
    full = re.search(r"\b[0-9a-f]{64}\b", cell.text())
    assert full, cell.text()
    assert "title" not in cell.attrs
    # the short form stays the summary; the full one is a click or a keypress away, and selectable
    (details,) = cell.find_all("details")
    (summary,) = details.find_all("summary")
    assert full.group(0) not in summary.text() and full.group(0)[:16] in summary.text()


def test_an_expiry_thirty_days_or_less_away_is_said_in_words(officer: TestClient) -> None:
    with clock.frozen(AS_OF):
        page = get(officer, "/ui/dashboard")
    table = page.by_id("expiries")
    soon = [td for td in table.find_all("td") if "bad" in td.classes()]
    assert soon, "C1 expires in 22 days"
    for td in soon:
        assert "30 days or less" in td.text(), td.text()
    section = next(a for a in table.ancestors() if a.tag == "section")
    legend = [n for n in section.walk() if n.tag == "p" and "30 days or less" in n.text()]
    assert legend and "visually-hidden" not in legend[0].classes(), "the threshold is said where it is seen too"


# -- C4: landmarks, captions and hints ----------------------------------------------------------------------


LANDMARKS = {"header", "nav", "main", "footer", "aside"}


def test_the_grant_banner_is_inside_a_landmark(web_client: Callable[[str], TestClient]) -> None:
    with clock.frozen(AS_OF):
        page = get(web_client("auditor"), "/ui/audit")
    (banner,) = [n for n in page.walk() if "grant-banner" in n.classes()]
    holders = [a for a in banner.ancestors() if a.tag in LANDMARKS or a.attrs.get("role") in
               ("banner", "complementary", "region", "main", "contentinfo", "navigation")
               or (a.tag == "section" and ("aria-label" in a.attrs or "aria-labelledby" in a.attrs))]
    assert holders, "the banner is outside every landmark"
    holder = holders[0]
    assert holder.tag != "aside" or holder.attrs.get("aria-label"), "a complementary landmark needs a name"


def test_each_parameters_table_has_its_own_caption(web_client: Callable[[str], TestClient]) -> None:
    liaison = web_client("liaison")
    with clock.frozen(AS_OF):
        page = get(liaison, "/ui/params")
        rule = get(liaison, "/ui/rulesets/demo/2.0.0/rules/DEMO-TRN-001")
    captions = [t.find_all("caption")[0].text() for t in page.find_all("table")]
    assert captions and len(set(captions)) == len(captions), captions
    for section in page.find_all("section"):
        if section.attrs.get("id", "").startswith("pp-"):
            for table in section.find_all("table"):
                assert "Demo" in table.find_all("caption")[0].text() or "demo" in table.find_all("caption")[0].text()
    (named,) = [t for t in rule.find_all("table") if any(th.text() == "Meaning" for th in t.find_all("th"))]
    assert "DEMO-TRN-001" in named.find_all("caption")[0].text()


def test_the_change_forms_from_hint_is_tied_to_its_field(web_client: Callable[[str], TestClient]) -> None:
    with clock.frozen(dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)):
        page = get(web_client("liaison"), "/ui/params")
    field_ = page.by_id("pc-demo-from")
    hint = field_.attrs.get("aria-describedby", "")
    assert hint and page.by_id(hint).text() == "blank: today, or the day after the last evaluation that judged demo"
