/* dataset.h - reading training names: a TSV with a header naming the
 * columns country, gender and name (in any order), or a plain file of one
 * name a line (then the names carry no country or gender).
 *
 * Every problem with a line (too few columns, an unknown gender, a bad
 * country code, an empty or too long name, malformed UTF-8, a control
 * character) is reported as "file:line: sentence" through the caller's
 * report function, counted, and the line skipped; only more than max_bad
 * such lines (or no usable line at all) make the whole read fail. The
 * reader works on a memory buffer, so it can be fuzzed, and never reads
 * past len. */
#ifndef NAMEGEN_MODEL_DATASET_H
#define NAMEGEN_MODEL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define DATASET_MAX_BYTES      (64u << 20) /* a larger file is refused */
#define DATASET_MAX_LINE       4096	   /* bytes in one line */
#define DATASET_MAX_NAME_CHARS 32	   /* characters in one name */
#define DATASET_MAX_NAME_BYTES (4 * DATASET_MAX_NAME_CHARS)
#define DATASET_MAX_COUNTRIES  256
#define DATASET_ERR_MAX	       512

enum dataset_format {
	DATASET_AUTO, /* TSV when the first line is a header naming
			 country, gender and name; plain otherwise */
	DATASET_TSV,
	DATASET_PLAIN
};

struct dataset_name {
	uint32_t off;	 /* of the name's bytes in the pool */
	uint16_t len;	 /* bytes, <= DATASET_MAX_NAME_BYTES */
	int16_t country; /* index into codes, or -1 (plain file) */
	int8_t gender;	 /* enum gru_gender: 0 F, 1 M, -1 (plain file) */
	uint32_t line;	 /* 1-based line in the file */
};

struct dataset {
	struct dataset_name *names; /* in file order */
	size_t count;
	char *pool;	 /* the names' bytes, NUL after each */
	int conditioned; /* 1 for a TSV, 0 for a plain file */
	int countries;	 /* distinct codes, sorted */
	char codes[DATASET_MAX_COUNTRIES][4];
	size_t lines;	   /* lines read, header included */
	size_t bad_lines;  /* reported and skipped */
	uint64_t checksum; /* FNV-1a 64 of the whole input */
};

/* dataset_report_fn receives each problem, e.g. "names.tsv:12: unknown
 * gender \"X\" (expected F or M)". */
typedef void dataset_report_fn(void *arg, const char *msg);

/* dataset_parse reads len bytes of buf (a name for messages is filename)
 * into ds, which must be zeroed. Lines may end in \n or \r\n; a UTF-8 BOM
 * and empty lines are ignored. report may be NULL. Returns 0, or -1 with a
 * sentence in err (ds is then safe to free) when the format is wrong,
 * more than max_bad lines are bad, nothing usable is left or memory runs
 * out. */
int dataset_parse(struct dataset *ds, const char *buf, size_t len,
		  const char *filename, enum dataset_format format,
		  size_t max_bad, dataset_report_fn *report, void *arg,
		  char *err, size_t errlen);

/* dataset_load reads the file at path (at most DATASET_MAX_BYTES) and
 * parses it like dataset_parse, naming it path in messages. */
int dataset_load(struct dataset *ds, const char *path,
		 enum dataset_format format, size_t max_bad,
		 dataset_report_fn *report, void *arg, char *err,
		 size_t errlen);

/* dataset_name_str returns name i's NUL-terminated UTF-8 bytes. */
const char *dataset_name_str(const struct dataset *ds, size_t i);

/* dataset_country_index returns the index of code in ds->codes, or -1. */
int dataset_country_index(const struct dataset *ds, const char *code);

/* dataset_free releases ds's memory and zeroes it; accepts a zeroed or
 * half-filled ds. */
void dataset_free(struct dataset *ds);

/* dataset_file_read reads a whole file of at most max bytes into a new
 * NUL-terminated buffer (*out, freed by the caller with free). Returns
 * the length, or -1 with a sentence naming path in err. */
long dataset_file_read(const char *path, size_t max, char **out, char *err,
		       size_t errlen);

/* dataset_fnv1a64 extends the FNV-1a 64-bit hash h (start with
 * DATASET_FNV_SEED) over len bytes of p. */
#define DATASET_FNV_SEED 0xcbf29ce484222325ULL
uint64_t dataset_fnv1a64(uint64_t h, const void *p, size_t len);

#endif /* NAMEGEN_MODEL_DATASET_H */
