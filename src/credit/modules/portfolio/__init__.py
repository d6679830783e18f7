"""The portfolio: the close of day, the classification history, the portfolio report and its
metrics."""
