"""The submission's reference list: every source the answers rely on is listed, cited
where it is used, and every citation resolves."""

import re

from conftest import pdf_to_text

from pipeline.paths import PROJECT


def test_every_citation_resolves_and_every_entry_is_cited(pdf_text: str) -> None:
    bib = (PROJECT.templates_dir / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE)
    cited = {
        key.strip()
        for template in PROJECT.templates_dir.glob("ex*.tex")
        for group in re.findall(r"\\cite\w*\{([^}]+)\}", template.read_text(encoding="utf-8"))
        for key in group.split(",")
    }
    assert set(keys) == cited
    assert "(?" not in pdf_text and "?)" not in pdf_text  # natbib's mark of an unresolved citation


def test_the_reference_list_names_each_source(pdf_text: str) -> None:
    listed = pdf_text.split("References", 1)[1]
    for source in [
        "Attention is all you need",
        "DeepSeek-V2",
        "DeepSeekMoE",
        "Switch Transformers",
        "GShard",
        "The approximation of one matrix by another of lower rank",
    ]:
        assert source in listed, source


def test_the_answers_cite_their_sources_where_they_use_them(pdf_text: str) -> None:
    assert "implements the E of Vaswani et al. (2017)" in pdf_text
    assert "Eckart–Young theorem (Eckart and Young, 1936)" in pdf_text
    assert "DeepSeekMoE (Dai et al., 2024)" in pdf_text
    assert "Lepikhin et al., 2021; Fedus et al., 2022" in pdf_text
    assert pdf_to_text(PROJECT.pdf).count("(DeepSeek-AI, 2024)") == 2
