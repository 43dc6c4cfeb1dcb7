"""Constants of the vendor dialects."""

from typing import Final

# Where a mapping's topic pattern holds the vendor's name of the device.
NAME_PLACEHOLDER: Final = "{name}"
# A vendor message keeps at most this many extra readings (a store field each).
MAX_EXTRAS: Final = 64
MAPPINGS_PACKAGE: Final = "safehood.dialects.mappings"
