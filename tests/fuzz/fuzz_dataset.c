/* fuzz_dataset.c - libFuzzer target: the training data reader.
 *
 * The first input byte picks the format (auto, TSV, plain) and how many
 * bad lines are tolerated; the rest is the file. Whatever dataset_parse
 * accepts must hold together: every name inside the pool, NUL after it,
 * within the length limits, with a country index in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/dataset.h"

#define FDS_INPUT_MAX (1u << 20)

/* fds_report is called for each bad line: it must say something. */
static void fds_report(void *arg, const char *msg)
{
	size_t *n = arg;

	if (!msg || msg[0] == '\0' || strlen(msg) >= DATASET_ERR_MAX)
		abort();
	(*n)++;
}

static void fds_check(const struct dataset *ds, size_t reports)
{
	size_t i;
	int k;

	if (ds->count == 0 || ds->bad_lines != reports || ds->countries < 0 ||
	    ds->countries > DATASET_MAX_COUNTRIES)
		abort();
	for (k = 1; k < ds->countries; k++)
		if (strcmp(ds->codes[k - 1], ds->codes[k]) >= 0)
			abort(); // sorted and distinct
	for (i = 0; i < ds->count; i++) {
		const struct dataset_name *n = &ds->names[i];
		const char *s = dataset_name_str(ds, i);

		if (n->len == 0 || n->len > DATASET_MAX_NAME_BYTES ||
		    strlen(s) != n->len || s != ds->pool + n->off ||
		    n->line < 1 || n->line > ds->lines)
			abort();
		if (ds->conditioned
			? n->country < 0 || n->country >= ds->countries ||
			      (n->gender != 0 && n->gender != 1)
			: n->country != -1 || n->gender != -1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dataset_format formats[] = {
	    DATASET_AUTO,
	    DATASET_TSV,
	    DATASET_PLAIN,
	};
	struct dataset ds;
	char err[DATASET_ERR_MAX];
	size_t reports = 0, max_bad;

	if (size < 1 || size > FDS_INPUT_MAX)
		return 0;
	max_bad = (size_t)(data[0] >> 2);
	memset(&ds, 0, sizeof(ds));
	err[0] = '\0';
	if (dataset_parse(&ds, (const char *)data + 1, size - 1, "fuzz.tsv",
			  formats[data[0] % 3], max_bad, fds_report, &reports,
			  err, sizeof(err)) == 0)
		fds_check(&ds, reports);
	else if (err[0] == '\0')
		abort();
	dataset_free(&ds);
	return 0;
}
