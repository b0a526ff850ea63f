"""matplotlib's backend while the build runs a notebook's cells (pipeline/cells.py).

Figures are drawn as PDF, as on the pdf backend, and `plt.show()` shows them as
Jupyter's inline backend does: each open figure is displayed under the running cell
and closed. The runner calls `show()` when a cell ends too, so a figure left open
appears under the cell that made it, as in an exported notebook.
"""

from IPython.display import display
from matplotlib import pyplot
from matplotlib._pylab_helpers import Gcf
from matplotlib.backends.backend_pdf import FigureCanvasPdf

FigureCanvas = FigureCanvasPdf


def show(*args: object, **kwargs: object) -> None:
    """Display every open figure under the running cell, then close them."""
    managers = Gcf.get_all_fig_managers()
    for manager in managers:
        display(manager.canvas.figure)
    if managers:
        pyplot.close("all")
