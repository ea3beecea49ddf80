// The Calibration target: statistics of each converted matrix's inputs, collected by running
// the float model on calibration data, and the quantizers that use them (error-compensating
// binarization, scale refinement). See ARCHITECTURE.md.
