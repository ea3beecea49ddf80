// The bit-packed weight and activation planes of DESIGN.md.
