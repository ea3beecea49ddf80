// Calibration tests live beside the code they check; this file keeps the target non-empty.
