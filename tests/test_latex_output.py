"""The LaTeX of every shipped derivation compiles and fits the page (issue 15).

``pdflatex`` compiles each ``generated/<name>/operators.tex`` inside a minimal article
(10 pt, 345 pt text width). The log must report no overfull line wider than 30 pt, the
first page must hold equations (not only the note above them, as when an unbreakable
display is pushed to page 2), and ε1 must appear only as the energy offset of H: every
other ε lives in 𝓔_g = ε2 - ε1. Without ``pdflatex`` the compiling tests skip (CI has it).
"""

import re
import shutil
import statistics
import subprocess

import pytest

from symbolic_sw.derivation import list_derivations
from symbolic_sw.pipeline import GENERATED
from symbolic_sw.pipeline.derive import derive
from symbolic_sw.pipeline.files import render

NAMES = list_derivations()
PDFLATEX = shutil.which("pdflatex")
needs_tex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
MAX_OVERFULL = 30.0  # pt
FAST = ("samokhin_c4v", "samokhin_c4v_order4")  # rendered afresh in the default run (≈ 1 s and 2.5 s)

# uncompressed, so that the text operators of each page can be counted in the PDF
WRAPPER = r"""\pdfcompresslevel=0 \pdfobjcompresslevel=0
\documentclass{article}
\usepackage{amsmath}
\begin{document}
\input{fragment.tex}
\end{document}
"""


def compile_fragment(text, folder):
    """``(log, pdf bytes)`` of ``text`` compiled in the wrapper document."""
    (folder / "fragment.tex").write_text(text, encoding="utf-8")
    (folder / "doc.tex").write_text(WRAPPER, encoding="utf-8")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=folder,
        capture_output=True,
        timeout=120,
        check=False,
    )
    log = (folder / "doc.log").read_text(encoding="latin-1")
    assert run.returncode == 0, log[-3000:]
    return log, (folder / "doc.pdf").read_bytes()


def overfull_widths(log):
    """Widths (pt) of the overfull lines pdflatex reports."""
    return [float(w) for w in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)", log)]


def text_operations_per_page(pdf):
    """Number of text-showing operators (``Tj``/``TJ``) on each page, in page order."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}

    def pages(node):
        kids = re.search(rb"/Kids\s*\[(.*?)\]", node, re.S)
        if kids is None:
            return [node]
        return [page for ref in re.findall(rb"(\d+) 0 R", kids.group(1)) for page in pages(objects[int(ref)])]

    root = next(b for b in objects.values() if re.search(rb"/Type\s*/Pages\b", b) and b"/Parent" not in b)
    counts = []
    for page in pages(root):
        contents = re.search(rb"/Contents\s+(\d+) 0 R", page)
        counts.append(len(re.findall(rb"T[Jj]\b", objects[int(contents.group(1))])))
    return counts


def first_page_is_blank(counts):
    """Page 1 holds less than a quarter of a typical page (only the note, or nothing)."""
    return len(counts) > 1 and counts[0] < 0.25 * statistics.median(counts[1:])


def check_fits(text, folder):
    log, pdf = compile_fragment(text, folder)
    wide = [w for w in overfull_widths(log) if w > MAX_OVERFULL]
    assert not wide, f"{len(wide)} overfull line(s), up to {max(wide)} pt"
    counts = text_operations_per_page(pdf)
    assert not first_page_is_blank(counts), f"blank first page: text operators per page {counts}"


def check_epsilon_1(text):
    r"""``\varepsilon_1`` only in the gap note and once in H (its offset); no ε1, 𝓔_g mixtures."""
    body = text.split("% ---- ", 1)[1] if "% ---- " in text else text
    assert r"\mathcal{E}_g + \varepsilon_1" not in text and r"\varepsilon_2" not in body
    aligns = re.findall(r"\\begin\{align\}(.*?)\\end\{align\}", body, re.S)
    for block in aligns:
        count = block.count(r"\varepsilon_1")
        if block.lstrip().startswith(r"\hat{\mathcal{H}}"):
            assert count <= 1, f"ε1 {count} times in H"
            # the offset: a summand of its own, not inside a fraction or a product
            assert count == 0 or re.search(r"(\\biggl\[|[+-]|=\{\}&) \\varepsilon_1 ", block), block[:300]
        else:
            assert count == 0, f"ε1 outside H: {block[:200]}"


@needs_tex
@pytest.mark.parametrize("name", NAMES)
def test_committed_latex_fits_the_page(name, tmp_path):
    """What users get: the committed ``generated/<name>/operators.tex``."""
    check_fits((GENERATED / name / "operators.tex").read_text(encoding="utf-8"), tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_committed_latex_has_epsilon_1_only_in_the_offset(name):
    check_epsilon_1((GENERATED / name / "operators.tex").read_text(encoding="utf-8"))


@needs_tex
@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in NAMES])
def test_fresh_latex_fits_the_page(name, tmp_path):
    """Rendered now from the derivation (not from the committed files)."""
    text = render(derive(name), only={"operators.tex"})["operators.tex"]
    check_epsilon_1(text)
    check_fits(text, tmp_path)


@needs_tex
def test_the_checks_can_fail(tmp_path):
    """An over-long line and a display taller than the page are caught by the checks above."""
    wide = "\\noindent Note.\n\\begin{align}\nx &= " + " + ".join(f"a_{{{n}}}" for n in range(80)) + "\n\\end{align}\n"
    log, _ = compile_fragment(wide, tmp_path)
    assert max(overfull_widths(log)) > 300
    tall = (
        "\\noindent Note.\n\\begin{align}\n" + " \\\\\n".join(f"x_{{{n}}} &= y" for n in range(80)) + "\n\\end{align}\n"
    )
    _, pdf = compile_fragment(tall, tmp_path)
    assert first_page_is_blank(text_operations_per_page(pdf))
