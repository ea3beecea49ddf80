// Debian's libopenblas-dev (pkg-config `openblas`): the CBLAS interface of OpenBLAS, built with
// DYNAMIC_ARCH, so the kernel for the running CPU is chosen at run time, never at build time.
#include <cblas.h>
