"""Pure-numpy post-processing shared by all detectors."""
