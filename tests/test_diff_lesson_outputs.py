"""scripts/diff_lesson_outputs.py: lesson outputs compared cell by cell, timings masked."""

import importlib.util
from pathlib import Path

import nbformat

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "diff_lesson_outputs.py"
spec = importlib.util.spec_from_file_location("diff_lesson_outputs", SCRIPT)
diff = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diff)


def write(folder: Path, *texts: str) -> Path:
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    for text in texts:
        cell = nbformat.v4.new_code_cell("print(...)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    nbformat.write(nb, folder / "01_x.ipynb")
    return folder


def test_timings_addresses_and_stream_splits_are_not_differences(tmp_path, capsys):
    before = write(tmp_path / "a", "loss 2.301\ntook 3.2 s\n", "<Model at 0x7f00aa11bb22>\n")
    after = write(tmp_path / "b", "loss 2.301\ntook 4.9 s\n", "<Model at 0x7f00cc33dd44>\n")
    assert diff.main([str(before), str(after)]) == 0
    nb = nbformat.read(after / "01_x.ipynb", as_version=4)
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="loss 2.3"),
        nbformat.v4.new_output("stream", name="stdout", text="01\ntook 1 s\n"),
    ]
    nbformat.write(nb, after / "01_x.ipynb")
    assert diff.main([str(before), str(after)]) == 0
    assert "the same outputs" in capsys.readouterr().out


def test_a_changed_number_fails_with_a_readable_diff(tmp_path, capsys):
    before = write(tmp_path / "a", "accuracy 0.912\n")
    after = write(tmp_path / "b", "accuracy 0.913\n")
    assert diff.main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert "01_x.ipynb, code cell 0" in out and "-accuracy 0.912" in out and "+accuracy 0.913" in out
    assert "largest by 0.001" in out


def test_a_timing_table_is_masked_but_a_metrics_table_is_not():
    timing = "T  loop (ms)  speed-up\n-  ---------  --------\n16      1.07  12.9x\n256  1540.00  49.5x\n"
    assert diff.normalize(timing) == diff.normalize(timing.replace("1540.00", "273.96").replace("49.5x", "10.0x"))
    metrics = "task  accuracy\n----  --------\nqa       0.912\n"
    assert diff.normalize(metrics) != diff.normalize(metrics.replace("0.912", "0.913"))
    html = "<table><thead><tr><th>loop (ms)</th></tr></thead><tbody><tr><td>1.07</td></tr></tbody></table>"
    assert diff.normalize(diff._html_rows(html)) == diff.normalize(diff._html_rows(html.replace("1.07", "2.5")))
