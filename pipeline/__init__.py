"""The build pipeline: notebooks -> results -> templates -> LaTeX -> report/submission.pdf."""
