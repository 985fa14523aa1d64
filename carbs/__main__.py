"""``python -m carbs``: the ``carbs`` command (see :mod:`carbs.cli`), for environments
where the console script is not on ``PATH``."""

import sys

from carbs.cli import main

sys.exit(main())
