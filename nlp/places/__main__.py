"""`python -m nlp.places build PATH | common-words [SCOWL_DIR]`: see `nlp.places.cli`."""

import sys

from nlp.places.cli import main

sys.exit(main(sys.argv[1:]))
