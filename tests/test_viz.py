"""bertlib.viz: result tables render as HTML and as text; matplotlib only ever gets NumPy arrays."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from bertlib.viz import Table, attention_grid, attention_heatmap, show_table  # noqa: E402


def test_table_html_is_a_real_table_with_escaped_cells():
    table = show_table(["strategy", "16 reviews"], [["frozen <body>", "72.2% (70% to 75%)"], ["a | b", 3]], "Acc.")
    out = table._repr_html_()
    assert out.startswith('<table class="bertlib-table"><caption>Acc.</caption><thead>')
    assert out.count("<tr>") == 3 and out.count("<th ") == 2 and out.count("<td ") == 4
    assert "frozen &lt;body&gt;" in out and "<body>" not in out  # text, never markup
    assert "a | b" in out and "---" not in out
    # the name column is left-aligned, the numbers right-aligned
    assert '<td style="text-align: left">frozen &lt;body&gt;</td>' in out
    assert '<td style="text-align: right">72.2% (70% to 75%)</td>' in out


def test_table_text_fallback_is_aligned():
    table = Table(["layer", "loss"], [["0", "1.5"], ["11", "0.25"]], caption="Loss per layer")
    assert repr(table).splitlines() == [
        "Loss per layer",
        "layer  loss",
        "-----  ----",
        "0       1.5",
        "11     0.25",
    ]


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="Row 1 has 1 cells but the header has 2"):
        show_table(["a", "b"], [["1", "2"], ["3"]])


def test_table_columns_of_words_stay_left_aligned():
    table = show_table(["", "BERT-base", "ours"], [["steps", "1,000,000", "600"], ["model", "12 layers", "2 layers"]])
    assert table.align == ["left", "left", "left"]
    assert show_table(["x", "n"], [["a", "1e-4"], ["b", "-3"]]).align == ["left", "right"]


@pytest.fixture
def strict_warnings():
    # NumPy 2 warns (DeprecationWarning, `__array__ ... copy keyword`) when matplotlib converts a tensor.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        yield
    plt.close("all")


def test_heatmap_gives_matplotlib_numpy(strict_warnings):
    weights = torch.softmax(torch.randn(5, 5, requires_grad=True), -1)
    ax = attention_heatmap(weights, list("abcde"), title="t")
    image = ax.get_images()[0].get_array()
    np.testing.assert_allclose(image, weights.detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"Expected a \(4, 4\) matrix for 4 tokens, got \(5, 5\)"):
        attention_heatmap(weights, list("abcd"))


def test_grid_gives_matplotlib_numpy(strict_warnings):
    attentions = [torch.softmax(torch.randn(1, 3, 4, 4), -1) for _ in range(2)]
    fig = attention_grid(attentions, list("abcd"))
    assert len(fig.axes) == 6
    np.testing.assert_allclose(fig.axes[4].get_images()[0].get_array(), attentions[1][0, 1].numpy(), rtol=1e-6)


def test_grid_fits_the_column_with_9pt_text(strict_warnings):
    # The small BERT's 2 layers x 4 heads over a 20-token pair (lesson 4): drawn at 110 dpi it must be
    # at most the 688 px column, so the page shows it unscaled and no label is under 9 pt.
    attentions = [torch.softmax(torch.randn(1, 4, 20, 20), -1) for _ in range(2)]
    fig = attention_grid(attentions, [f"t{i}" for i in range(20)])
    assert fig.get_size_inches()[0] * 110 <= 688
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and a.get_text())]
    assert sizes and min(sizes) >= 9
