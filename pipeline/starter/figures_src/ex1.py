# %% [markdown]
# # Exercise 1
# A starter notebook: replace its cells with the sheet's first exercise. Each
# `# %% 1(a) ...` cell answers a task; `\coderef{1(a)}` in templates/ex1.tex
# brings it into the appendix.

# %% Setup
import numpy as np

from pipeline.publish import new_figure, publish, save_figure

# %% 1(a) A first value and a first figure
points = np.linspace(0.0, 1.0, 11)
publish("n_points", len(points))
publish("mean", points.mean())
fig = new_figure(width=0.5, aspect=0.5)
axes = fig.subplots()
axes.plot(points, points**2)
axes.set(xlabel="$x$", ylabel="$x^2$")
save_figure(fig, "ex1-square")
print(f"{len(points)} points, mean {points.mean():.3f}")
