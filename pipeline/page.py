"""The page geometry, in one place: the LaTeX preamble and every figure read it from here."""

TEXT_WIDTH_CM = 15.0
TEXT_HEIGHT_CM = 24.0
CM_PER_INCH = 2.54
TEXT_WIDTH_IN = TEXT_WIDTH_CM / CM_PER_INCH
