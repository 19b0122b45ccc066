"""Pipeline stage: detectors (dsp, ml) behind one interface."""
