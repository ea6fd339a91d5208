"""What the notebooks use (``notebooks/``): small, tested helpers over the report and the frame behind it.

- :mod:`analysis.explore.day` — one run from any source (or a stored ``report.json``): the day in numbers, denials
  over time, the principal × action matrix, the top principals, actions and reasons, severities and remedy kinds;
- :mod:`analysis.explore.drill` — one principal: its events, sessions, regions, user agents and source IPs, its
  remedy's documents, their proof and their export to files;
- :mod:`analysis.explore.history` — many days of stored reports (the reports bucket's ``reports/YYYY/MM/DD/`` or a
  local folder of them): who keeps failing, which fixes remove the most denials, who reaches in from outside, new
  principals, trends per remedy kind;
- :mod:`analysis.explore.figures` — the notebooks' matplotlib figures (matplotlib is the ``notebook`` extra: only
  this module imports it).

Nothing else in ``analysis`` imports this package (pyproject.toml's import-linter contracts).
"""
