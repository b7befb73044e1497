/* matmul.h - the matrix products of the network, each with cblas and with
 * plain loops, so tests can hold one against the other.
 *
 * All matrices are row-major float32 with an explicit leading dimension
 * (the distance in floats between two rows), as in cblas. */
#ifndef NAMEGEN_MODEL_MATMUL_H
#define NAMEGEN_MODEL_MATMUL_H

#include <stdbool.h>

/* mm_gemm computes C = alpha * op(A) op(B) + beta * C for C (M, N),
 * op(A) (M, K), op(B) (K, N); op(X) is X or X transposed when ta / tb is
 * true. With ref true it runs plain loops (the reference), else
 * cblas_sgemm. beta == 0 ignores C's old contents (NaN included). */
void mm_gemm(bool ref, bool ta, bool tb, int m, int n, int k, float alpha,
	     const float *a, int lda, const float *b, int ldb, float beta,
	     float *c, int ldc);

/* mm_gemv computes y = A x for A (M, N) with leading dimension lda, x (N)
 * and y (M): cblas_sgemv, or plain loops with ref true. */
void mm_gemv(bool ref, int m, int n, const float *a, int lda, const float *x,
	     float *y);

#endif /* NAMEGEN_MODEL_MATMUL_H */
