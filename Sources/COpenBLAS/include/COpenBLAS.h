// OpenBLAS's row-major float32 products, loaded at first use (openblas_loader.c says why it is
// loaded rather than linked).
#pragma once

#include <stdbool.h>

// Loads OpenBLAS once; true if it is loaded. The products below work either way. It sets
// environment variables around dlopen, so a program should call it before starting threads.
bool xnor_blas_load(void);

// What the products run on: "OpenBLAS 0.3.21 … (core SkylakeX, 1 thread)", or why OpenBLAS
// could not be loaded and the plain loops run instead.
const char *xnor_blas_description(void);

// C[m, n] = alpha · op(A) · op(B) + beta · C, row-major, as cblas_sgemm.
void xnor_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc);

// The upper triangle of C[n, n] = alpha · A·Aᵀ + beta · C with A [n, k] (trans false), or
// alpha · Aᵀ·A + beta · C with A [k, n] (trans true), row-major, as cblas_ssyrk with CblasUpper.
void xnor_ssyrk_upper(bool trans, int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc);

// The plain loops the two products fall back to without OpenBLAS (public for the tests, which
// hold OpenBLAS and them to each other).
void xnor_sgemm_plain(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);
void xnor_ssyrk_upper_plain(bool trans, int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc);
