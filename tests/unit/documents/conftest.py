import sys
from pathlib import Path

# The sample-file helpers live next to the tests; make them importable under any import mode.
sys.path.insert(0, str(Path(__file__).parent))
