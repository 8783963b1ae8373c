"""`python -m fastgrad`: see fastgrad.cli."""
import sys

from fastgrad.cli import main

sys.exit(main())
