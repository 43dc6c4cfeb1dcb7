"""The safehood application: command line and the composition roots that wire the packages."""
