"""The live book: the explorers that run the book's models in the reader's browser.

`make book` exports the small BERT and all-MiniLM-L6-v2 to ONNX under
_build/html/_static/live/ (scripts/export_live.py); the pages with a cell tagged
`live-*` run them with onnxruntime-web (book/_static/bertlive/). In headless
Chromium, with every request outside 127.0.0.1 aborted and recorded:
- parity on chapter 6's page: `bertLive` against PyTorch on the same checkpoint
  (ids identical, top-5 the same apart from near-ties, probabilities and attention
  weights within 1e-3), and its tokenizer against Python's `tokenizers` on English,
  Korean, empty, over-long and unknown-character inputs, for both vocabularies;
- the masking explorer's statistics match bertlib.mask_tokens over many draws;
- a reader's path: typing, dragging and clicking change what each explorer shows
  (chapters 2, 4, 6 and 8), with no JavaScript error and no request leaving 127.0.0.1;
- chapter 2 offers the lesson's own WordPiece (800 pieces), exported with its recipe;
- chapter 10's MiniLM is opt-in: no byte of it before the click, the button names its
  size, the download shows progress, and its attentions (6 layers x 12 heads) match
  PyTorch within 1e-3 (about half a minute of this module: 84 MB over 127.0.0.1, and
  the WebAssembly session);
- bad input: over-long text gets a note, empty text a hint, a model that does not
  load the saved output and a message; a page opened from disk says `make serve`;
- the page running the small BERT stays under 150 MB of JS heap.
Screenshots of two explorers after typing (chapter 6's fill-in-the-blank, chapter 4's
attention) land in test-artifacts/screenshots/live-*.png. One browser context per page,
nine page loads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SMALL = "small-bert"
MINILM = "all-MiniLM-L6-v2"
LESSON2 = "wordpiece-800"  # chapter 2's own WordPiece, exported without a model
TOL = 1e-3
NEAR_TIE = 1e-3  # two candidates closer than this may swap places in the top 5
HEAP_LIMIT = 150e6

PROBES = [
    "the [MASK] sells bread to the teacher .",
    "the baker opens the [MASK] in the morning .",
    "where is the [MASK] ? the river runs past the old mill .",
    "[MASK]",
]
TOKENIZER_CASES = [
    ("english", "Seoyeon reads books to the children.", None),
    ("pair", "where is the river?", "The river runs past the old mill."),
    ("korean", "서연이는 아이들에게 책을 읽어 준다.", None),
    ("empty", "", None),
    ("long", "oscar , a . " * 42, None),  # 504 characters, 168 pieces: truncated to 128 tokens
    ("long words", "every morning oscar walks to the school . " * 12, None),  # 504 characters
    ("long pair", "the baker " * 60, "sells bread " * 40),
    ("unknown", "Über 東京 ☃ 🙂 and wordwithoutanyspaceatallinsidebutveryverylongindeed", None),
    ("accents and case", "Café NAÏVE résumé", None),
]

pytestmark = pytest.mark.slow


class Page:
    """One page in its own browser context, with what left 127.0.0.1 and every JS error."""

    def __init__(self, browser, url: str, block: str | None = None):
        self.external: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()

        def route(r):
            url = urlsplit(r.request.url)
            if url.scheme != "file" and url.hostname != "127.0.0.1":
                self.external.append(r.request.url)
                r.abort()
            elif block and block in r.request.url:
                r.fulfill(status=404, body="not here")
            else:
                r.continue_()

        self.page.route("**/*", route)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")

    def explorer(self, tag: str, timeout: int = 30_000):
        section = self.page.locator(f'section.bertlive[data-explorer="{tag}"]')
        self.page.wait_for_function(
            'tag => { const s = document.querySelector(`section.bertlive[data-explorer="${tag}"]`);'
            " return s && s.dataset.ready; }",
            arg=tag,
            timeout=timeout,
        )
        return section

    def close(self):
        self.context.close()


def _answer(page, section, change) -> str:
    """Do `change`, wait for the explorer's next answer, return its text."""
    box = section.locator(".bertlive-answer")
    before = int(box.get_attribute("data-answered") or 0)
    change()
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.answered || 0) > n", arg=[box.element_handle(), before], timeout=15_000
    )
    return box.inner_text()


@pytest.fixture(scope="module")
def live_site(site_dir):
    manifest = site_dir / "_static" / "live" / "manifest.json"
    if not manifest.is_file():
        pytest.fail(f"{manifest} is missing: `make book` exports the models (scripts/export_live.py)", pytrace=False)
    return json.loads(manifest.read_text())


@pytest.fixture(scope="module")
def ch6(browser, site_url, live_site):
    page = Page(browser, site_url + "lessons/06_mlm.html")
    page.explorer("live-fillmask")
    page.explorer("live-masking")
    yield page
    page.close()


@pytest.fixture(scope="module")
def small_bert(live_site):
    from bertlib.pretrained import SMALL_BERT_RECIPE, load_small_bert, small_bert_path

    entry = next(m for m in live_site["models"] if m["name"] == SMALL)
    assert entry["recipe_hash"] == small_bert_path(SMALL_BERT_RECIPE).name.removeprefix("small-bert-"), (
        "the site's small BERT is not the cached checkpoint: rebuild with `make book`"
    )
    model, tokenizer = load_small_bert(progress=False)
    return model.eval(), tokenizer


# --- the files the build wrote ------------------------------------------------------


def test_manifest_names_each_model_and_its_files(live_site, site_dir):
    names = [m["name"] for m in live_site["models"]]
    assert SMALL in names and MINILM in names and any("small" in n for n in names)
    for m in live_site["models"]:
        folder = site_dir / "_static" / "live"
        assert (folder / m["file"]).stat().st_size == m["bytes"]
        assert (folder / m["tokenizer"]).is_file() and (folder / m["config"]).is_file()
        assert max(m["max_abs_diff"].values()) <= 1e-4, m["max_abs_diff"]
        assert len(m["recipe_hash"]) >= 8


def test_live_pages_start_from_the_head_and_preload_files_that_exist(site_dir, live_site):
    """The boot script is async at the top of <head>; every file it preloads is on the site."""
    import re

    pages = [p for p in sorted((site_dir / "lessons").glob("*.html")) if "tag_live-" in p.read_text()]
    assert len(pages) >= 5, pages
    for page in pages:
        head, body = page.read_text().split("</head>", 1)
        boot = re.findall(
            r"<script async fetchpriority=\"high\" src=\"[^\"]*bertlive-boot\.js\" data-explorers=\"([^\"]*)\"", head
        )
        assert len(boot) == 1, f"{page.name}: {boot}"
        assert set(boot[0].split()) == set(re.findall(r"\btag_(live-[\w-]+)", body)), page.name
        ours = re.findall(
            r'<link rel="(?:module)?preload"[^>]*href="([^"]*_static/(?:live|bertlive|vendor)/[^"]*)"', head
        )
        assert ours, page.name
        for href in ours:
            assert (page.parent / href).resolve().is_file(), f"{page.name} preloads {href}, which is not on the site"
    assert "bertlive-boot" not in body


# --- parity with PyTorch and with Python's tokenizers, on chapter 6's page ----------


def test_api_lists_the_models(ch6, live_site):
    assert ch6.page.evaluate("() => bertLive.ready") == [m["name"] for m in live_site["models"]]
    assert ch6.page.evaluate("() => bertLive.models") == [m["name"] for m in live_site["models"]]


def test_fill_mask_and_attentions_match_pytorch(ch6, small_bert, record_property):
    model, tokenizer = small_bert
    worst = {"probability": 0.0, "attention": 0.0}
    for text in PROBES:
        got = ch6.page.evaluate(
            """async (t) => ({enc: await bertLive.tokenize('small-bert', t),
                             top: await bertLive.fillMask('small-bert', t, 5),
                             att: await bertLive.attentions('small-bert', t)})""",
            text,
        )
        enc = tokenizer.encode(text, max_length=128)
        assert got["enc"]["input_ids"] == enc["input_ids"], text
        assert got["enc"]["token_type_ids"] == enc["token_type_ids"], text
        ids = torch.tensor([enc["input_ids"]])
        with torch.no_grad():
            out = model(ids, torch.zeros_like(ids), torch.ones_like(ids), output_attentions=True, logits_at="all")
        at = enc["input_ids"].index(tokenizer.mask_token_id)
        probs = torch.softmax(out.prediction_logits[0, at].double(), -1).numpy()
        order = np.argsort(-probs)
        expected = tokenizer.convert_ids_to_tokens(order[:5].tolist())
        tokens = [x["token"] for x in got["top"]]
        for rank, (e, g) in enumerate(zip(expected, tokens, strict=True)):
            if e != g:  # allowed only when the two are a near-tie
                gap = abs(probs[order[rank]] - probs[tokenizer.convert_tokens_to_ids([g])[0]])
                assert gap < NEAR_TIE, f"{text!r}: rank {rank + 1} is {g!r}, PyTorch says {e!r} (gap {gap:.2g})"
        for x in got["top"]:
            diff = abs(x["score"] - probs[tokenizer.convert_tokens_to_ids([x["token"]])[0]])
            worst["probability"] = max(worst["probability"], diff)
        assert got["att"]["tokens"] == tokenizer.convert_ids_to_tokens(enc["input_ids"])
        expected_att = torch.stack(out.attentions, 1)[0].numpy()  # L, H, T, T
        diff = float(np.abs(np.array(got["att"]["attentions"]) - expected_att).max())
        worst["attention"] = max(worst["attention"], diff)
    record_property("parity", worst)
    print(f"parity with PyTorch: largest difference {worst}")
    assert worst["probability"] < TOL and worst["attention"] < TOL, worst


@pytest.mark.parametrize("model", [SMALL, MINILM, LESSON2])
def test_tokenizer_matches_python_tokenizers(ch6, site_dir, live_site, model):
    from tokenizers import Tokenizer

    entry = next(m for m in live_site["models"] + live_site["tokenizers"] if m["name"] == model)
    tok = Tokenizer.from_file(str(site_dir / "_static" / "live" / entry["tokenizer"]))
    tok.enable_truncation(entry["max_length"], strategy="longest_first")
    tok.no_padding()
    for name, text, pair in TOKENIZER_CASES:
        expected = tok.encode(text, pair)
        got = ch6.page.evaluate("([m, t, p]) => bertLive.tokenize(m, t, p)", [model, text, pair])
        want = {
            "tokens": expected.tokens,
            "input_ids": expected.ids,
            "token_type_ids": expected.type_ids,
            "attention_mask": expected.attention_mask,
        }
        assert got == want, f"{model}, {name} ({text[:40]!r}): browser {got}, Python {want}"
        if name in ("long", "long pair"):
            assert len(got["input_ids"]) == entry["max_length"]


def test_masking_statistics_match_bertlib(ch6, small_bert):
    """Many draws of the page's masking against bertlib.mask_tokens: the same rates."""
    from bertlib.pretraining import mask_tokens

    _, tokenizer = small_bert
    enc = tokenizer.encode("the baker opens the shop in the morning and sells bread to the teacher .", max_length=128)
    ids = enc["input_ids"]
    draws = 400
    stats_js = ch6.page.evaluate(
        """async ([ids, n]) => { const c = {selected: 0, mask: 0, random: 0, kept: 0, changed: 0};
            for (let seed = 0; seed < n; seed++) {
                const m = await bertLive.maskTokens(ids, {p: 0.15, seed});
                m.kind.forEach((k, i) => { if (k) { c.selected++; c[k]++; if (m.inputs[i] !== ids[i]) c.changed++; } });
            } return c; }""",
        [ids, draws],
    )
    generator = torch.Generator().manual_seed(0)
    batch = torch.tensor([ids] * draws)
    inputs, labels = mask_tokens(batch, tokenizer, 0.15, generator=generator)
    selected = labels != -100
    stats_py = {
        "selected": int(selected.sum()),
        "mask": int((selected & (inputs == tokenizer.mask_token_id)).sum()),
        "changed": int((selected & (inputs != batch)).sum()),
    }
    words = sum(1 for i in ids if i not in tokenizer.special_token_ids)
    n = words * draws
    for key, rate, total_js, total_py in [
        ("selected", 0.15, n, n),
        ("mask", 0.8, stats_js["selected"], stats_py["selected"]),
    ]:
        for stats, total in ((stats_js, total_js), (stats_py, total_py)):
            sd = math.sqrt(rate * (1 - rate) / total)
            assert abs(stats[key] / total - rate) < 4 * sd, (key, stats, total)
    # random replacements: 10% of the selected (changed = mask + random different from the original)
    random_js = (stats_js["changed"] - stats_js["mask"]) / stats_js["selected"]
    random_py = (stats_py["changed"] - stats_py["mask"]) / stats_py["selected"]
    assert abs(random_js - random_py) < 0.06, (random_js, random_py)
    assert abs(random_js - 0.1) < 0.05, stats_js
    assert stats_js["kept"] + stats_js["random"] + stats_js["mask"] == stats_js["selected"]
    # the same seed gives the same masks
    again = ch6.page.evaluate(
        "async (ids) => [await bertLive.maskTokens(ids, {p: 0.5, seed: 7}),"
        " await bertLive.maskTokens(ids, {p: 0.5, seed: 7})]",
        ids,
    )
    assert again[0] == again[1]


# --- a reader's path ----------------------------------------------------------------


def test_reader_path_on_chapter_6(ch6):
    page = ch6.page
    fill = ch6.explorer("live-fillmask")
    first = fill.locator(".bertlive-answer").inner_text()
    assert fill.locator(".bertlive-bars li").count() == 5
    # the saved widget output gives way to the live explorer
    assert page.locator(".tag_live-fillmask .cell_output").is_hidden()
    typed = _answer(
        page, fill, lambda: fill.locator("input[type=text]").fill("the doctor helps sick people at the hospital .")
    )
    assert typed != first and fill.locator(".bertlive-bars li").count() == 5
    clicked = _answer(page, fill, lambda: fill.locator("button.bertlive-word").nth(4).click())
    assert clicked != typed and "[MASK]" in clicked
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fill.screenshot(path=str(SCREENSHOTS / "live-ch06-fill-in-the-blank.png"))
    masking = ch6.explorer("live-masking")
    before = masking.locator(".bertlive-answer").inner_text()
    after = _answer(page, masking, lambda: masking.locator("input[type=range]").first.fill("0.6"))
    assert after != before and masking.locator(".bertlive-mask").count() > 0
    seeded = _answer(page, masking, lambda: masking.locator("input[type=range]").nth(1).fill("3"))
    assert seeded != after
    assert "Live:" in page.locator(".bertlive-status").first.inner_text()
    assert ch6.errors == [] and ch6.external == []


def test_bad_input_on_chapter_6(ch6):
    page = ch6.page
    fill = ch6.explorer("live-fillmask")
    text = fill.locator("input[type=text]")
    empty = _answer(page, fill, lambda: text.fill(""))
    assert "Type a sentence" in empty
    long = " ".join(["the baker opens the shop in the morning ."] * 20) + " [MASK]"
    _answer(page, fill, lambda: text.fill("the [MASK] sells bread . " + long))
    assert fill.locator(".bertlive-truncated").is_visible()
    assert "Too long" in fill.locator(".bertlive-truncated").inner_text()
    assert ch6.errors == []


def test_js_heap_with_the_small_bert(ch6, record_property):
    cdp = ch6.context.new_cdp_session(ch6.page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    used = metrics["JSHeapUsedSize"]
    record_property("js_heap_bytes", used)
    print(f"JS heap with the small BERT: {used / 1e6:.1f} MB")
    assert used < HEAP_LIMIT, f"{used / 1e6:.0f} MB of JS heap"


@pytest.mark.parametrize(
    "chapter_page, tag",
    [
        ("lessons/02_tokenization.html", "live-tokenizer"),
        ("lessons/04_self_attention.html", "live-attention"),
        ("lessons/08_pretraining.html", "live-attention"),
    ],
)
def test_reader_path_on_other_chapters(browser, site_url, live_site, chapter_page, tag):
    p = Page(browser, site_url + chapter_page)
    try:
        section = p.explorer(tag)
        assert section.get_attribute("data-ready") == "true"
        box = section.locator(".bertlive-answer")
        first = box.inner_text()
        heatmap = "() => document.querySelector('svg.bertlive-heatmap')?.innerHTML"
        before = p.page.evaluate(heatmap)
        typed = _answer(
            p.page,
            section,
            lambda: section.locator("input[type=text]").first.fill("oscar walks to the school every morning ."),
        )
        assert typed != first
        if tag == "live-attention":  # the small BERT drew a new heatmap for the new sentence
            assert before and p.page.evaluate(heatmap) != before
        dragged = _answer(p.page, section, lambda: section.locator("input[type=range]").last.fill("2"))
        assert dragged != typed
        if tag == "live-attention":
            assert section.locator("svg.bertlive-heatmap rect").count() > 0
            assert section.locator("svg.bertlive-lines line").count() > 0
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            chapter = chapter_page.split("/")[-1][:2]
            section.screenshot(path=str(SCREENSHOTS / f"live-ch{chapter}-attention.png"))
        else:
            assert "school" in typed and "school" not in dragged  # max_length 4 leaves room for one piece of A
        assert p.errors == [] and p.external == []
    finally:
        p.close()


def test_model_that_fails_to_load_shows_the_fallback(browser, site_url, live_site):
    p = Page(browser, site_url + "lessons/06_mlm.html", block="small-bert/model.onnx")
    try:
        section = p.explorer("live-fillmask")
        assert section.get_attribute("data-ready") == "failed"
        assert "Live explorer off" in section.inner_text()
        assert p.page.locator(".tag_live-fillmask .cell_output").is_visible()
        assert p.external == []
    finally:
        p.close()


def test_page_from_disk_shows_the_fallback_and_make_serve(browser, site_dir, live_site):
    p = Page(browser, (site_dir / "lessons" / "06_mlm.html").as_uri())
    try:
        p.page.wait_for_selector(".bertlive-fallback", timeout=10_000)
        note = p.page.locator(".tag_live-fillmask .bertlive-fallback").inner_text()
        assert "make serve" in note
        assert p.page.locator(".tag_live-fillmask .cell_output").is_visible()
        assert p.external == []
    finally:
        p.close()


def test_chapter_2_offers_its_own_wordpiece(browser, site_url, live_site):
    """The explorer's "ours" is the tokenizer lesson 2 trains (800 pieces), not the small BERT's."""
    import re
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from export_live import LESSON2_TOKENIZER

    lesson = json.loads((ROOT / "lessons" / "02_tokenization.ipynb").read_text())
    source = "\n".join("".join(c["source"]) for c in lesson["cells"] if c["cell_type"] == "code")
    r = LESSON2_TOKENIZER
    assert re.search(rf"^VOCAB_SIZE = {r['vocab_size']}\b", source, re.M), "lesson 2's VOCAB_SIZE changed"
    assert f'load_corpus("town", n_documents={r["n_documents"]}, seed={r["seed"]})' in source
    assert f"corpus.split({r['held_out']}, seed={r['seed']})" in source
    assert "bertlib.train_tokenizer(train_corpus.texts(), vocab_size=VOCAB_SIZE)" in source
    entry = next(t for t in live_site["tokenizers"] if t["name"] == LESSON2)
    assert entry["vocab_size"] == r["vocab_size"]
    p = Page(browser, site_url + "lessons/02_tokenization.html")
    try:
        section = p.explorer("live-tokenizer")
        choice = section.locator("select")
        assert choice.input_value() == LESSON2
        assert f"({r['vocab_size']} pieces)" in choice.locator("option").first.inner_text()
        assert p.errors == [] and p.external == []
    finally:
        p.close()


def test_chapter_10_loads_minilm_only_when_asked(browser, site_url, live_site, record_property):
    """Opt-in: no MiniLM byte before the click; the button names the size; progress, then MiniLM's attentions."""
    import time

    from bertlib.minilm import load_minilm

    entry = next(m for m in live_site["models"] if m["name"] == MINILM)
    p = Page(browser, site_url + "lessons/10_transfer_real_bert.html")
    try:
        section = p.page.locator('section.bertlive[data-explorer="live-attention-minilm"]')
        button = section.locator("button.bertlive-load")
        button.wait_for(timeout=30_000)
        p.page.wait_for_timeout(500)  # anything the page would fetch on its own has started by now
        assert not [u for u in p.requests if f"/{MINILM}/" in u], "MiniLM was fetched before the reader asked"
        assert f"{entry['bytes'] / 1e6:.0f} MB" in button.inner_text()
        assert section.get_attribute("data-ready") is None
        p.page.evaluate(
            """b => { window.__progress = [];
                new MutationObserver(() => window.__progress.push(b.textContent))
                    .observe(b, {childList: true, characterData: true, subtree: true}); }""",
            button.element_handle(),
        )
        start = time.perf_counter()
        button.click()
        p.explorer("live-attention-minilm", timeout=300_000)
        seconds = time.perf_counter() - start
        assert section.get_attribute("data-ready") == "true"
        progress = p.page.evaluate("() => window.__progress")
        assert any(t.startswith(f"Downloading {MINILM}: ") and "MB" in t for t in progress), progress
        assert section.locator("svg.bertlive-heatmap rect").count() > 0
        text = "the baker opens the shop in the morning ."
        got = p.page.evaluate("t => bertLive.attentions('all-MiniLM-L6-v2', t)", text)
        model, tokenizer = load_minilm()
        enc = tokenizer.encode(text, max_length=entry["max_length"])
        assert got["tokens"] == tokenizer.convert_ids_to_tokens(enc["input_ids"])
        ids = torch.tensor([enc["input_ids"]])
        with torch.no_grad():
            out = model.eval()(ids, torch.zeros_like(ids), torch.ones_like(ids), output_attentions=True)
        expected = torch.stack(out.attentions, 1)[0].numpy()  # L, H, T, T
        att = np.array(got["attentions"])
        assert att.shape == expected.shape == (6, 12, len(enc["input_ids"]), len(enc["input_ids"]))
        diff = float(np.abs(att - expected).max())
        record_property("minilm", {"click_to_answer_s": round(seconds, 1), "attention_diff": diff})
        print(f"MiniLM: {seconds:.1f} s from the click to its first answer; attention within {diff:.1e} of PyTorch")
        assert diff < TOL
        assert p.errors == [] and p.external == []
    finally:
        p.close()
