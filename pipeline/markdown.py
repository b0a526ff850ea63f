"""A notebook's markdown cells, typeset as prose: markdown-it-py parses, this writes LaTeX.

A `# %% [markdown]` cell of the percent format is markdown behind `# `. markdown-it-py
(CommonMark, with `$...$` and `$$...$$` math from mdit-py-plugins) turns it into a
stream of tokens; each token becomes its LaTeX counterpart here, text escaped by the
one function that escapes text (pipeline/texify.py). What CommonMark has and a notebook's
prose needs: headings, paragraphs, emphasis, code, links, lists, quotes, code blocks, math.
"""

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from pipeline.texify import escape_text

PARSER = MarkdownIt("commonmark").use(dollarmath_plugin)

# Block tokens: what opens and what closes each.
BLOCKS = {
    "heading": (r"\par\medskip\noindent\textbf{", "}\\par\\smallskip\n"),
    "paragraph": ("\\noindent ", "\\par\\smallskip\n"),
    "bullet_list": ("\\begin{itemize}\n", "\\end{itemize}\n"),
    "ordered_list": ("\\begin{enumerate}\n", "\\end{enumerate}\n"),
    "list_item": ("\\item ", ""),
    "blockquote": ("\\begin{quote}\n", "\\end{quote}\n"),
}
# Inline tokens that wrap their text.
SPANS = {"em": ("\\emph{", "}"), "strong": ("\\textbf{", "}")}


def markdown_source(cell_source: str) -> str:
    """The markdown of a `# %% [markdown]` cell: its lines without the marker and `# `."""
    lines = cell_source.splitlines()[1:]
    return "\n".join(line.removeprefix("#").removeprefix(" ") for line in lines)


def to_latex(markdown: str) -> str:
    return "".join(_block(token) for token in PARSER.parse(markdown))


def _block(token: Token) -> str:
    kind, _, end = token.type.rpartition("_")
    if end in ("open", "close") and kind in BLOCKS:
        if kind == "paragraph" and token.hidden:  # a tight list's items
            return ""
        return BLOCKS[kind][0 if end == "open" else 1]
    if token.type == "inline":
        return _inline(token.children or [])
    if token.type in ("fence", "code_block"):
        return "\\begin{verbatim}\n" + token.content + "\\end{verbatim}\n"
    if token.type == "math_block":
        return "\\[" + token.content.strip() + "\\]\n"
    if token.type == "hr":
        return "\\par\\noindent\\rule{\\linewidth}{0.4pt}\\par\n"
    return ""


def _inline(tokens: list[Token]) -> str:
    """A paragraph's text; a link is its text with the address after it."""
    latex, addresses = [], []
    for token in tokens:
        kind, _, end = token.type.rpartition("_")
        if end in ("open", "close") and kind in SPANS:
            latex.append(SPANS[kind][0 if end == "open" else 1])
        elif token.type == "link_open":
            addresses.append(str(token.attrs.get("href", "")))
        elif token.type == "link_close":
            latex.append(" (\\texttt{" + escape_text(addresses.pop()) + "})")
        elif token.type == "code_inline":
            latex.append("\\texttt{" + escape_text(token.content) + "}")
        elif token.type == "math_inline":
            latex.append("$" + token.content + "$")
        elif token.type in ("softbreak", "hardbreak"):
            latex.append(" " if token.type == "softbreak" else "\\\\\n")
        else:  # text, and anything else as its text
            latex.append(escape_text(token.content))
    return "".join(latex)
