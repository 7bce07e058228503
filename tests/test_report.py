"""`mlpcli report`: one self-contained HTML page, checked without a browser — every image
decodes, every table has the rows it should, nothing refers outside the file."""

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from mlpcli import runs


class Page(HTMLParser):
    """The parts of a page the tests look at: images, tables (as rows of cell texts), links,
    ids, headings, and every attribute value that could load something."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.tables, self.links, self.ids, self.headings = [], [], [], set(), []
        self.sources = []  # src, href, action … values
        self._cell = None
        self._heading = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href", "action", "data", "poster", "srcset"):
            if key in attrs:
                self.sources.append(attrs[key])
        if tag == "img":
            self.images.append(attrs)
        elif tag == "a":
            self.links.append(attrs.get("href"))
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3", "h4"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def table_with(self, first_header: str) -> list[list[str]]:
        (table,) = [t for t in self.tables if t and t[0] and t[0][0] == first_header]
        return table


def decoded(img: dict) -> Image.Image:
    match = re.fullmatch(r"data:image/(png|gif);base64,([A-Za-z0-9+/=]+)", img["src"])
    assert match, img["src"][:60]
    image = Image.open(io.BytesIO(base64.b64decode(match.group(2))))
    image.load()  # decodes the whole image: a truncated one raises
    assert image.format.lower() == match.group(1)
    return image


def check_self_contained(text: str, page: Page) -> None:
    assert not re.search(r"(https?:|ftp:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE)
    for source in page.sources:
        assert source.startswith(("data:", "#")), source
    assert "<link" not in text and "@import" not in text
    assert all(link.startswith("#") and link[1:] in page.ids for link in page.links)
    for img in page.images:
        decoded(img)


def train(cli, *args):
    r = cli("train", *args, "--quiet")
    assert r.code == 0, r.err
    return runs.resolve_run("latest", "runs")


def test_run_report_of_a_classifier(cli):
    path = train(cli, "moons", "--epochs", "30", "--hidden", "6", "--animate")
    r = cli("report", "latest")
    assert r.code == 0, r.err
    assert f"report written to {path / 'report.html'}" in r.out
    text = (path / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    shown = {img["alt"] for img in page.images}
    assert shown == {"boundary.png", "training.gif", "hidden.png", "confusion.png", "roc.png",
                     "loss.png"}
    sizes = {img["alt"]: decoded(img).size for img in page.images}
    assert sizes["boundary.png"] == (640, 560) and sizes["training.gif"] == (480, 420)
    summary = json.loads((path / "summary.json").read_text())
    report = summary["final"]["report"]
    per_class = page.table_with("class")
    assert per_class[0] == ["class", "precision", "recall", "F1", "support"]
    assert len(per_class) == 1 + 2 + 4  # header, a row per class, accuracy … weighted avg
    assert per_class[1] == ["0", *(f"{report['classes']['0'][k]:.3f}"
                                   for k in ("precision", "recall", "f1")),
                            str(report["classes"]["0"]["support"])]
    confusion = page.table_with("true \\ predicted")
    assert len(confusion) == 3 and len(confusion[1]) == 3
    assert confusion[1][1].split()[0] == str(report["confusion"][0][0])
    metrics = page.table_with("")
    assert metrics[0][1:] == ["train loss", "val loss", "train acc", "val acc"]
    files = page.table_with("file")
    assert {row[0] for row in files[1:]} == {p.name for p in path.iterdir()
                                              if p.name != "report.html"}
    assert "What the network learned" in page.headings


def test_run_report_of_a_regression_and_a_wide_classifier(cli, tmp_path):
    train(cli, "sine", "--epochs", "10", "--hidden", "4")
    r = cli("report", "latest", "-o", tmp_path / "sine.html")
    assert r.code == 0, r.err
    text = (tmp_path / "sine.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    assert {img["alt"] for img in page.images} == {"boundary.png", "hidden.png", "fit.png",
                                                   "loss.png"}
    targets = page.table_with("target")
    assert targets[0] == ["target", "R²", "RMSE", "MAE"] and len(targets) == 2
    train(cli, "wine", "--epochs", "5")
    assert cli("report", "latest", "-o", tmp_path / "wine.html").code == 0
    text = (tmp_path / "wine.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    assert {img["alt"] for img in page.images} == {"confusion.png", "loss.png"}
    assert "boundary.png, hidden.png not drawn" in text  # the note, on the page


def test_sweep_report_has_a_sortable_leaderboard_and_a_section_per_trial(cli):
    r = cli("sweep", "xor", "--grid", "hidden=2|4|8", "--epochs", "20", "--workers", "1",
            "--quiet")
    assert r.code == 0, r.err
    (sweep,) = [p for p in Path("runs").iterdir() if (p / "sweep.json").exists()]
    r = cli("report", sweep.name)
    assert r.code == 0, r.err
    text = (sweep / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    board = page.table_with("rank")
    assert len(board) == 1 + 3
    assert 'class="sortable"' in text and "<script>" in text
    trials = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert {f"trial-{t}" for t in trials} <= page.ids
    assert [h for h in page.headings if h in trials] == trials
    assert "sweep.png" in {img["alt"] for img in page.images}
    swept = [t for t in page.tables if ["hidden", "2 | 4 | 8"] in t]
    assert swept


def test_report_of_several_runs_compares_them(cli, tmp_path):
    train(cli, "xor", "--epochs", "10", "--hidden", "2")
    train(cli, "xor", "--epochs", "10", "--hidden", "5")
    ids = sorted(p.name for p in Path("runs").iterdir())
    r = cli("report", *ids)
    assert r.code == 0, r.err
    text = Path("report.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    options = page.table_with("option")
    assert options[1:] == [["hidden", "[2]", "[5]"]]
    assert "loss curves" in {img["alt"] for img in page.images}


def test_report_values_are_escaped(cli):
    path = train(cli, "xor", "--epochs", "5", "--name", "a<b>&c")
    assert cli("report", path.name).code == 0
    text = (path / "report.html").read_text(encoding="utf-8")
    assert "<b>&c" not in text and "a&lt;b&gt;&amp;c" in text


@pytest.mark.parametrize("args,words", [(["nope"], "no run 'nope'"),
                                        (["latest", "-o", "/nonexistent/dir/r.html"],
                                         "does not exist")])
def test_report_errors_are_one_line(cli, args, words):
    train(cli, "xor", "--epochs", "3")
    r = cli("report", *args)
    assert r.code == 2 and words in r.err and "Traceback" not in r.err
