import sys

from tunesafe.cli import main

sys.exit(main())
