/* test_model_data.c - the training data reader and the alphabet: bad
 * lines are reported with file:line, counted and skipped; malformed UTF-8
 * is refused; arbitrary bytes never crash the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "namegen-model/alphabet.h"
#include "namegen-model/dataset.h"

/* Reports are kept, to check what was said about which line. */
struct reports {
	char msg[16][DATASET_ERR_MAX + 64];
	int n;
};

static void keep_report(void *arg, const char *msg)
{
	struct reports *r = arg;

	if (r->n < 16)
		snprintf(r->msg[r->n], sizeof(r->msg[0]), "%s", msg);
	r->n++;
}

static void test_tsv_good(void **state)
{
	static const char tsv[] = "country\tgender\tname\n"
				  "IT\tF\tGiulia\n"
				  "DE\tM\tJürgen\r\n"
				  "\n"
				  "IT\tM\tLuca\n"
				  "GR\tF\tΕλένη";
	struct dataset ds;
	char err[DATASET_ERR_MAX];

	(void)state;
	assert_int_equal(dataset_parse(&ds, tsv, strlen(tsv), "t.tsv",
				       DATASET_AUTO, 0, NULL, NULL, err,
				       sizeof(err)),
			 0);
	assert_int_equal(ds.conditioned, 1);
	assert_int_equal(ds.count, 4);
	assert_int_equal(ds.bad_lines, 0);
	assert_int_equal(ds.countries, 3);
	assert_string_equal(ds.codes[0], "DE");
	assert_string_equal(ds.codes[2], "IT");
	assert_string_equal(dataset_name_str(&ds, 1), "Jürgen");
	assert_int_equal(ds.names[1].country, 0);
	assert_int_equal(ds.names[1].gender, 1);
	assert_int_equal(ds.names[1].line, 3);
	assert_string_equal(dataset_name_str(&ds, 3), "Ελένη");
	assert_int_equal(ds.names[3].country, 1);
	assert_int_equal(ds.names[3].line, 6);
	assert_int_equal(dataset_country_index(&ds, "IT"), 2);
	assert_true(ds.checksum != 0);
	dataset_free(&ds);
}

static void test_bad_lines_reported(void **state)
{
	static const char tsv[] = "name\tcountry\tgender\n" // any order
				  "Anna\tSE\tF\n"
				  "Bo\tSE\n"	   // 3: columns
				  "Carl\tSE\tX\n"  // 4: gender
				  "Dag\tse\tM\n"   // 5: country
				  "\tSE\tM\n"	   // 6: empty
				  "E\xff\tSE\tF\n" // 7: UTF-8
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG\tSE\tF\n"
				  "Fr\x01ja\tSE\tF\n" // 9: control
				  " Gun\tSE\tF\n"     // 10: space
				  "Hugo\tSE\tM\n";
	struct reports r = {0};
	struct dataset ds;
	char err[DATASET_ERR_MAX];

	(void)state;
	assert_int_equal(dataset_parse(&ds, tsv, strlen(tsv), "data/x.tsv",
				       DATASET_AUTO, 10, keep_report, &r, err,
				       sizeof(err)),
			 0);
	assert_int_equal(ds.count, 2);
	assert_int_equal(ds.bad_lines, 8);
	assert_int_equal(r.n, 8);
	assert_string_equal(dataset_name_str(&ds, 1), "Hugo");
	assert_non_null(strstr(r.msg[0], "data/x.tsv:3: "));
	assert_non_null(strstr(r.msg[0], "columns"));
	assert_non_null(
	    strstr(r.msg[1], "data/x.tsv:4: unknown gender \"X\""));
	assert_non_null(strstr(r.msg[2], "data/x.tsv:5: country \"se\""));
	assert_non_null(strstr(r.msg[3], "data/x.tsv:6: empty name"));
	assert_non_null(strstr(r.msg[4], "data/x.tsv:7: malformed UTF-8"));
	assert_non_null(strstr(r.msg[5], "data/x.tsv:8: name longer than"));
	assert_non_null(strstr(r.msg[6], "data/x.tsv:9: "));
	assert_non_null(strstr(r.msg[7], "data/x.tsv:10: "));
	dataset_free(&ds);

	// Past max_bad the read fails, and names the file and line.
	memset(&r, 0, sizeof(r));
	assert_int_equal(dataset_parse(&ds, tsv, strlen(tsv), "data/x.tsv",
				       DATASET_AUTO, 3, keep_report, &r, err,
				       sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "data/x.tsv: more than 3 bad lines"));
	assert_non_null(strstr(err, "line 6"));
	assert_null(ds.names);
}

static void test_plain_and_formats(void **state)
{
	static const char plain[] = "\xef\xbb\xbf"
				    "emma\r\n"
				    "olivia\n"
				    "\n"
				    "ava\n"
				    "mia";
	struct dataset ds;
	char err[DATASET_ERR_MAX];

	(void)state;
	assert_int_equal(dataset_parse(&ds, plain, strlen(plain), "n.txt",
				       DATASET_AUTO, 0, NULL, NULL, err,
				       sizeof(err)),
			 0);
	assert_int_equal(ds.conditioned, 0);
	assert_int_equal(ds.count, 4);
	assert_string_equal(dataset_name_str(&ds, 0), "emma");
	assert_string_equal(dataset_name_str(&ds, 3), "mia");
	assert_int_equal(ds.names[0].country, -1);
	assert_int_equal(ds.names[3].line, 5);
	dataset_free(&ds);

	// A TSV is demanded but there is no header.
	assert_int_equal(dataset_parse(&ds, plain, strlen(plain), "n.txt",
				       DATASET_TSV, 0, NULL, NULL, err,
				       sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "n.txt:1: the header"));

	// Nothing usable.
	assert_int_equal(dataset_parse(&ds, "\n\n", 2, "e.txt", DATASET_AUTO,
				       5, NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "e.txt: no usable names"));
	assert_int_equal(dataset_load(&ds, "/nonexistent.tsv", DATASET_AUTO, 0,
				      NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent.tsv"));
}

static void test_utf8_decode(void **state)
{
	static const struct {
		const char *s;
		int used;
		uint32_t cp;
	} cases[] = {
	    {"a", 1, 'a'},
	    {"\xc3\xa9", 2, 0xe9},
	    {"\xe1\xba\xa1", 3, 0x1ea1},
	    {"\xf0\x9f\x98\x80", 4, 0x1f600},
	    {"\xc0\x80", -1, 0},	 // overlong NUL
	    {"\xe0\x80\xaf", -1, 0},	 // overlong '/'
	    {"\xed\xa0\x80", -1, 0},	 // surrogate
	    {"\xf4\x90\x80\x80", -1, 0}, // past U+10FFFF
	    {"\xc3", -1, 0},		 // cut short
	    {"\x80", -1, 0},		 // lone continuation
	    {"\t", -1, 0},		 // control
	    {"\xc2\x85", -1, 0},	 // C1 control
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0;
		int used =
		    alphabet_decode(cases[i].s, strlen(cases[i].s), &cp);

		assert_int_equal(used, cases[i].used);
		if (used > 0)
			assert_int_equal(cp, cases[i].cp);
	}
}

static void test_alphabet_encode(void **state)
{
	uint32_t cps[] = {'b', 'a', 0xe9, 'a', '-'};
	struct alphabet a;
	int tok[8], n;
	char err[128], out[32];

	(void)state;
	assert_int_equal(alphabet_init(&a, cps, 5, err, sizeof(err)), 0);
	assert_int_equal(a.size, 4);
	n = alphabet_encode(&a, "ab-é", strlen("ab-é"), tok, 8, err,
			    sizeof(err));
	assert_int_equal(n, 4);
	assert_int_equal(tok[0], 2); // '-' < 'a' < 'b' < 'é'
	assert_int_equal(tok[3], 4);
	assert_int_equal(alphabet_decode_tokens(&a, tok, n, out, sizeof(out)),
			 5);
	assert_string_equal(out, "ab-é");
	assert_int_equal(
	    alphabet_encode(&a, "abz", 3, tok, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"z\""));
	assert_int_equal(
	    alphabet_encode(&a, "aaaa", 4, tok, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 3"));
	assert_int_equal(alphabet_decode_tokens(&a, tok, 1, out, 1), -1);
	assert_string_equal(alphabet_utf8(&a, 0), "");
	assert_string_equal(alphabet_utf8(&a, 99), "");
}

/* Arbitrary bytes: the reader returns, never reads out of bounds. */
static void test_random_bytes(void **state)
{
	static const char alphabet_bytes[] = "country\tgender\tname\nFMIT \xc3"
					     "\xa9\xff\r";
	unsigned long long s = 7;
	char buf[512];
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		struct dataset ds;
		char err[DATASET_ERR_MAX];
		size_t len, i;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		len = (size_t)(s >> 33) % sizeof(buf);
		for (i = 0; i < len; i++) {
			s = s * 6364136223846793005ULL +
			    1442695040888963407ULL;
			buf[i] = alphabet_bytes[(s >> 33) %
						(sizeof(alphabet_bytes) - 1)];
		}
		if (dataset_parse(&ds, buf, len, "r", DATASET_AUTO, 1000, NULL,
				  NULL, err, sizeof(err)) == 0) {
			assert_true(ds.count > 0);
			for (i = 0; i < ds.count; i++)
				assert_int_equal(
				    strlen(dataset_name_str(&ds, i)),
				    ds.names[i].len);
			dataset_free(&ds);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tsv_good),
	    cmocka_unit_test(test_bad_lines_reported),
	    cmocka_unit_test(test_plain_and_formats),
	    cmocka_unit_test(test_utf8_decode),
	    cmocka_unit_test(test_alphabet_encode),
	    cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
