"""``python -m srgs.cli``: the ``srgs`` command."""

import sys

from srgs.cli import main

sys.exit(main())
