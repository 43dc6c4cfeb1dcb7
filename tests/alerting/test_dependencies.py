"""What importing the alerting package pulls in."""

import subprocess
import sys


def test_importing_alerting_leaves_sqlalchemy_out() -> None:
    # A fresh interpreter: this test process has SQLAlchemy loaded already.
    probe = "import sys, safehood.alerting; print('sqlalchemy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
