# PYTHON_ARGCOMPLETE_OK
import sys

from analysis.cli import main

sys.exit(main())
