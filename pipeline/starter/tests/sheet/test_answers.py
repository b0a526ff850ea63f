"""This sheet's answers, read back from the real PDF: the only tests that name its tasks."""

from conftest import as_printed

from pipeline.texify import format_number


def test_1a_prints_the_mean_the_notebook_computed(pdf_text: str, results: dict[str, dict]) -> None:
    assert " 1(a) " in pdf_text
    mean = as_printed(format_number(results["ex1"]["mean"]))
    assert f"the mean is {mean}" in pdf_text
