/* matmul.c - matrix products through cblas, or plain loops. */
#include "namegen-model/matmul.h"

#include <cblas.h>
#include <stddef.h>

static void gemm_ref(bool ta, bool tb, int m, int n, int k, float alpha,
		     const float *a, int lda, const float *b, int ldb,
		     float beta, float *c, int ldc)
{
	int i, j, p;

	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			double s = 0;

			for (p = 0; p < k; p++) {
				float x = ta ? a[(size_t)p * lda + i]
					     : a[(size_t)i * lda + p];
				float y = tb ? b[(size_t)j * ldb + p]
					     : b[(size_t)p * ldb + j];

				s += (double)x * y;
			}
			c[(size_t)i * ldc + j] =
			    (float)(alpha * s +
				    (beta == 0.0f
					 ? 0.0
					 : (double)beta *
					       c[(size_t)i * ldc + j]));
		}
	}
}

void mm_gemm(bool ref, bool ta, bool tb, int m, int n, int k, float alpha,
	     const float *a, int lda, const float *b, int ldb, float beta,
	     float *c, int ldc)
{
	if (m == 0 || n == 0)
		return;
	if (ref || k == 0) {
		gemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
		return;
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
		    ldb, beta, c, ldc);
}

void mm_gemv(bool ref, int m, int n, const float *a, int lda, const float *x,
	     float *y)
{
	int i, j;

	if (m == 0)
		return;
	if (!ref && n > 0) {
		cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, 1.0f, a, lda, x,
			    1, 0.0f, y, 1);
		return;
	}
	for (i = 0; i < m; i++) {
		double s = 0;

		for (j = 0; j < n; j++)
			s += (double)a[(size_t)i * lda + j] * x[j];
		y[i] = (float)s;
	}
}
