#!/usr/bin/env python3
"""Generate one deterministic day (2026-11-28) of an AWS organization's CloudTrail, and SAMPLE_DAY.md.

The output is a tree of real trail files in the layout an organization trail writes to S3::

    OUT/AWSLogs/o-a1b2c3d4e5/ACCOUNT/CloudTrail/REGION/2026/11/28/
        ACCOUNT_CloudTrail_REGION_20261128THHMMZ_XXXXXXXXXXXXXXXX.json.gz

Background traffic is mixed with the App Runner denial scenarios of ``sample_day/scenarios.py``;
``scripts/SAMPLE_DAY.md`` is rendered from them. The generator imports nothing from ``analysis``, and its
output is byte-identical on every run (fixed seed, fixed date, gzip mtime 0).

    python scripts/generate_sample_day.py [--out analysis/data/sample] [--doc scripts/SAMPLE_DAY.md] [--quiet]
"""

import sys

from sample_day.cli import main  # scripts/ is on sys.path when this file runs as a script

if __name__ == "__main__":
    sys.exit(main())
