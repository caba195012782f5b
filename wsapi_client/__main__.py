"""``python -m wsapi_client``: the same as the ``wsapi-client`` command."""

import sys

from wsapi_client.cli import main

sys.exit(main())
