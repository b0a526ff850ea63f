# %% [markdown]
# Exercise 2: placeholder notebook (replaced by the exercise's own computations).

# %%
import numpy as np
import sympy

from figures_src.publish import new_figure, publish, publish_formula, save_figure

# %%
x = sympy.symbols("x")
publish_formula("example_formula", sympy.diff(sympy.sin(x) ** 2, x))
values = np.linspace(0, 1, 5)
publish("example_number", values.mean())
print("mean:", values.mean())

# %%
fig = new_figure(width=0.5)
ax = fig.add_subplot()
ax.plot(values, values**2)
ax.set_xlabel("$")
ax.set_ylabel("^2$")
save_figure(fig, "ex2-example")
