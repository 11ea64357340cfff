import sys

from robotpose_lib.cli import main

sys.exit(main())
