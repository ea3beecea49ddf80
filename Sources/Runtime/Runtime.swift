// Executes graphs: reference float ops and popcount kernels.
