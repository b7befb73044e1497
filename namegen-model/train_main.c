/* train_main.c - namegen-train: fit a name model and write its file.
 *
 *   namegen-train [options] DATA OUT
 *
 * DATA is a TSV with the columns country, gender and name (a conditioned
 * model) or a plain list of one name a line (no countries or genders).
 * Progress goes to the terminal when stdout is one, else one logfmt line
 * per epoch. Exit status: 0 done, 1 training failed, 2 bad arguments or
 * data. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "namegen-model/dataset.h"
#include "namegen-model/model_file.h"
#include "namegen-model/trainer.h"

#define TRAIN_DEFAULT_DROPOUT 0.1f

struct options {
	const char *data, *out, *countries;
	enum dataset_format format;
	struct gru_dims dims; // only the sizes chosen by flags
	struct trainer_config tc;
	double heldout; // fraction held out
	unsigned long long split_seed, init_seed;
	size_t max_bad;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: namegen-train [options] DATA OUT\n"
		"  DATA: TSV with columns country, gender, name; or one name "
		"a line\n"
		"  --countries FILE  TSV of country code and English name\n"
		"  --format auto|tsv|plain   (auto)\n"
		"  --hidden N (256)  --layers N (1)  --emb-char N (48)\n"
		"  --emb-country N (16)  --emb-gender N (4)\n"
		"  --batch N (64)  --threads N (2)  --lr X (3e-3)\n"
		"  --lr-decay X (0.93)  --epochs N (40)  --patience N (3)\n"
		"  --clip X (5)  --weight-decay X (1e-4)  --dropout P (%g)\n"
		"  --heldout FRACTION (0.1)  --seed N (1)  --max-seconds S\n"
		"  --max-bad N (100): bad data lines tolerated\n",
		(double)TRAIN_DEFAULT_DROPOUT);
}

/* parse_num reads a number in [min, max] for flag name, or exits 2. */
static double parse_num(const char *name, const char *s, double min,
			double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max)) {
		fprintf(stderr,
			"namegen-train: --%s wants a number in [%g, "
			"%g], not \"%s\"\n",
			name, min, max, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"countries", 1, 0, 'c'},	 {"format", 1, 0, 'f'},
	    {"hidden", 1, 0, 'H'},	 {"layers", 1, 0, 'L'},
	    {"emb-char", 1, 0, 'e'},	 {"emb-country", 1, 0, 'k'},
	    {"emb-gender", 1, 0, 'g'},	 {"batch", 1, 0, 'b'},
	    {"threads", 1, 0, 't'},	 {"lr", 1, 0, 'r'},
	    {"lr-decay", 1, 0, 'd'},	 {"epochs", 1, 0, 'E'},
	    {"patience", 1, 0, 'p'},	 {"clip", 1, 0, 'C'},
	    {"weight-decay", 1, 0, 'w'}, {"heldout", 1, 0, 'o'},
	    {"seed", 1, 0, 's'},	 {"max-seconds", 1, 0, 'm'},
	    {"max-bad", 1, 0, 'B'},	 {"dropout", 1, 0, 'D'},
	    {"help", 0, 0, 'h'},	 {0, 0, 0, 0}};
	int c;

	memset(o, 0, sizeof(*o));
	trainer_defaults(&o->tc);
	o->tc.dropout = TRAIN_DEFAULT_DROPOUT;
	o->dims = (struct gru_dims){.emb_char = 48,
				    .emb_country = 16,
				    .emb_gender = 4,
				    .hidden = 256,
				    .layers = 1};
	o->heldout = 0.1;
	o->max_bad = 100;
	o->split_seed = o->init_seed = 1;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->countries = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "tsv") == 0)
				o->format = DATASET_TSV;
			else if (strcmp(optarg, "plain") == 0)
				o->format = DATASET_PLAIN;
			else if (strcmp(optarg, "auto") == 0)
				o->format = DATASET_AUTO;
			else {
				fprintf(stderr, "namegen-train: --format is "
						"auto, tsv or plain\n");
				exit(2);
			}
			break;
		case 'H':
			o->dims.hidden = (int)parse_num("hidden", optarg, 1,
							GRU_MAX_HIDDEN);
			break;
		case 'L':
			o->dims.layers = (int)parse_num("layers", optarg, 1,
							GRU_MAX_LAYERS);
			break;
		case 'e':
			o->dims.emb_char =
			    (int)parse_num("emb-char", optarg, 1, GRU_MAX_EMB);
			break;
		case 'k':
			o->dims.emb_country = (int)parse_num(
			    "emb-country", optarg, 1, GRU_MAX_EMB);
			break;
		case 'g':
			o->dims.emb_gender = (int)parse_num(
			    "emb-gender", optarg, 1, GRU_MAX_EMB);
			break;
		case 'b':
			o->tc.batch = (int)parse_num("batch", optarg, 1, 4096);
			break;
		case 't':
			o->tc.threads = (int)parse_num("threads", optarg, 1,
						       TRAINER_MAX_THREADS);
			break;
		case 'r':
			o->tc.lr = (float)parse_num("lr", optarg, 1e-6, 1);
			break;
		case 'd':
			o->tc.lr_decay =
			    (float)parse_num("lr-decay", optarg, 0.1, 1);
			break;
		case 'E':
			o->tc.max_epochs =
			    (int)parse_num("epochs", optarg, 1, 100000);
			break;
		case 'p':
			o->tc.patience =
			    (int)parse_num("patience", optarg, 1, 1000);
			break;
		case 'C':
			o->tc.clip =
			    (float)parse_num("clip", optarg, 1e-3, 1e6);
			break;
		case 'w':
			o->tc.weight_decay =
			    (float)parse_num("weight-decay", optarg, 0, 1);
			break;
		case 'o':
			o->heldout = parse_num("heldout", optarg, 0.001, 0.5);
			break;
		case 's':
			o->split_seed = o->init_seed = o->tc.seed =
			    (unsigned long long)parse_num("seed", optarg, 0,
							  1e15);
			break;
		case 'D':
			o->tc.dropout =
			    (float)parse_num("dropout", optarg, 0, 0.9);
			break;
		case 'm':
			o->tc.max_seconds =
			    parse_num("max-seconds", optarg, 1, 1e7);
			break;
		case 'B':
			o->max_bad =
			    (size_t)parse_num("max-bad", optarg, 0, 1e9);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		exit(2);
	}
	o->data = argv[optind];
	o->out = argv[optind + 1];
	if (o->tc.batch < o->tc.threads)
		o->tc.threads = o->tc.batch;
}

static void report_bad_line(void *arg, const char *msg)
{
	char q[600];

	(void)arg;
	log_warn("bad training line, skipped", "where=%s",
		 log_quote(q, sizeof(q), msg));
}

/* read_country_names fills the English names from a TSV of code and
 * name; a code it lacks keeps its code as name. */
static int read_country_names(const char *path, struct model_country *c, int n,
			      char *err, size_t errlen)
{
	char *buf = NULL, *line, *save = NULL;
	long len = dataset_file_read(path, 1 << 20, &buf, err, errlen);
	size_t lineno = 0;
	int i;

	if (len < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *cr;

		lineno++;
		if ((cr = strchr(line, '\r')))
			*cr = '\0';
		if (!tab) {
			log_warn("bad country line, skipped", "where=%s:%zu",
				 path, lineno);
			continue;
		}
		*tab = '\0';
		// A longer name would be cut, maybe inside a character.
		if (strlen(tab + 1) >= sizeof(c[0].name)) {
			log_warn("country name too long, code kept",
				 "where=%s:%zu", path, lineno);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(c[i].code, line) == 0)
				snprintf(c[i].name, sizeof(c[i].name), "%s",
					 tab + 1);
		}
	}
	free(buf);
	return 0;
}

/* Progress: a line rewritten in place on a terminal, logfmt otherwise. */
struct progress {
	int tty;
	double last_draw;
};

static void fmt_duration(char *buf, size_t size, double s)
{
	if (s >= 3600)
		snprintf(buf, size, "%dh%02dm", (int)(s / 3600),
			 (int)(s / 60) % 60);
	else
		snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void show_progress(void *arg, const struct trainer_progress *p)
{
	struct progress *pg = arg;
	double per_batch, left;
	char left_s[32], held_s[32];

	if (p->epoch_done) {
		if (pg->tty)
			printf("\r%-100s\r", "");
		log_info("epoch",
			 "epoch=%d train_loss=%.4f heldout_loss=%.4f "
			 "best=%.4f lr=%.2e seconds=%.1f "
			 "chars_per_s=%.0f improved=%d",
			 p->epoch, p->train_loss, p->heldout_loss,
			 p->best_loss, (double)p->lr, p->epoch_seconds,
			 p->chars_per_second, p->improved);
		return;
	}
	if (!pg->tty || p->elapsed - pg->last_draw < 0.25)
		return;
	pg->last_draw = p->elapsed;

	// At most the epochs left; early stopping may end sooner.
	per_batch = p->elapsed /
		    ((double)(p->epoch - 1) * p->batches + (double)p->batch);
	left = per_batch * ((double)(p->max_epochs - p->epoch) * p->batches +
			    (double)(p->batches - p->batch));
	fmt_duration(left_s, sizeof(left_s), left);
	if (isnan(p->heldout_loss))
		snprintf(held_s, sizeof(held_s), "-");
	else
		snprintf(held_s, sizeof(held_s), "%.4f", p->heldout_loss);
	printf("\repoch %d/%d  batch %zu/%zu  loss %.4f  held-out %s  "
	       "%.0f chars/s  time left <= %s ",
	       p->epoch, p->max_epochs, p->batch, p->batches, p->train_loss,
	       held_s, p->chars_per_second, left_s);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct options o;
	struct dataset ds = {0};
	struct alphabet *alpha = NULL;
	struct trainer_example *ex = NULL, *train = NULL, *held = NULL;
	struct model_country *countries = NULL;
	struct trainer_result res;
	struct progress pg = {0};
	struct gru_params params;
	struct model_meta meta = {0};
	struct model *m = NULL;
	const char **names = NULL;
	const char *sde;
	char err[DATASET_ERR_MAX];
	size_t *idx = NULL, n_held, n_train, i;
	float *data = NULL;
	int *tokens = NULL, rc = 1, c;
	unsigned long long rng;

	log_init("namegen-train");
	parse_args(argc, argv, &o);
	pg.tty = isatty(STDOUT_FILENO);

	// Read and encode the data.
	if (dataset_load(&ds, o.data, o.format, o.max_bad, report_bad_line,
			 NULL, err, sizeof(err)) != 0) {
		log_error("cannot read the training data", "error=\"%s\"",
			  err);
		rc = 2;
		goto out;
	}
	alpha = malloc(sizeof(*alpha));
	if (!alpha || trainer_alphabet(&ds, alpha, err, sizeof(err)) != 0 ||
	    trainer_encode(&ds, alpha, &ex, &tokens, err, sizeof(err)) != 0) {
		log_error("cannot encode the training data", "error=\"%s\"",
			  alpha ? err : "out of memory");
		rc = 2;
		goto out;
	}
	o.dims.vocab = alpha->size + 1;
	o.dims.countries = ds.conditioned ? ds.countries : 0;
	o.dims.genders = ds.conditioned ? 2 : 0;
	if (!ds.conditioned)
		o.dims.emb_country = o.dims.emb_gender = 0;
	if (gru_dims_check(&o.dims, err, sizeof(err)) != 0) {
		log_error("bad network size", "error=\"%s\"", err);
		rc = 2;
		goto out;
	}

	// A fixed-seed shuffle; the last part is held out.
	n_held = (size_t)(o.heldout * (double)ds.count + 0.5);
	n_held = n_held < 1 ? 1 : n_held;
	if (n_held >= ds.count) {
		log_error("too few names to hold some out", "names=%zu",
			  ds.count);
		rc = 2;
		goto out;
	}
	n_train = ds.count - n_held;
	idx = malloc(ds.count * sizeof(*idx));
	train = malloc(ds.count * sizeof(*train));
	data = malloc(gru_param_count(&o.dims) * sizeof(float));
	countries = calloc(DATASET_MAX_COUNTRIES, sizeof(*countries));
	names = malloc(ds.count * sizeof(*names));
	if (!idx || !train || !data || !countries || !names) {
		log_error("out of memory");
		goto out;
	}
	for (i = 0; i < ds.count; i++)
		idx[i] = i;
	rng = o.split_seed;
	trainer_shuffle(idx, ds.count, &rng);
	for (i = 0; i < ds.count; i++)
		train[i] = ex[idx[i]];
	held = train + n_train;

	log_info("training",
		 "data=%s names=%zu bad_lines=%zu train=%zu "
		 "heldout=%zu alphabet=%d countries=%d hidden=%d "
		 "layers=%d params=%zu threads=%d batch=%d",
		 o.data, ds.count, ds.bad_lines, n_train, n_held, alpha->size,
		 o.dims.countries, o.dims.hidden, o.dims.layers,
		 gru_param_count(&o.dims), o.tc.threads, o.tc.batch);
	gru_params_point(&params, &o.dims, data);
	gru_params_init(&params, o.init_seed);
	if (trainer_run(&o.tc, &params, train, n_train, held, n_held, &res,
			show_progress, &pg, err, sizeof(err)) != 0) {
		log_error("training failed", "error=\"%s\"", err);
		goto out;
	}

	// The countries with their English names and counts per gender.
	for (c = 0; c < o.dims.countries; c++)
		snprintf(countries[c].code, sizeof(countries[c].code), "%s",
			 ds.codes[c]);
	for (c = 0; c < o.dims.countries; c++)
		snprintf(countries[c].name, sizeof(countries[c].name), "%s",
			 ds.codes[c]);
	for (i = 0; i < ds.count; i++) {
		names[i] = dataset_name_str(&ds, i);
		if (ds.names[i].country >= 0 && ds.names[i].gender >= 0)
			countries[ds.names[i].country]
			    .names[ds.names[i].gender]++;
	}
	if (o.countries &&
	    read_country_names(o.countries, countries, o.dims.countries, err,
			       sizeof(err)) != 0) {
		log_error("cannot read the country names", "error=\"%s\"",
			  err);
		rc = 2;
		goto out;
	}

	// SOURCE_DATE_EPOCH asks for a reproducible file: it pins the date,
	// and the training time (which varies) is left out (logged only).
	sde = getenv("SOURCE_DATE_EPOCH");
	meta.trained_at = sde ? strtoll(sde, NULL, 10) : (int64_t)time(NULL);
	meta.heldout_loss = (float)res.heldout_loss;
	meta.train_loss = (float)res.train_loss;
	meta.epochs = (uint32_t)res.epochs;
	meta.best_epoch = (uint32_t)res.best_epoch;
	meta.train_names = (uint32_t)n_train;
	meta.heldout_names = (uint32_t)n_held;
	meta.train_seconds = sde ? 0.0f : (float)res.seconds;
	meta.seed = o.init_seed;
	meta.data_checksum = ds.checksum;
	if (model_build(&m, &params, alpha, countries, o.dims.countries, &meta,
			names, ds.count, err, sizeof(err)) != 0 ||
	    model_save(m, o.out, err, sizeof(err)) != 0) {
		log_error("cannot write the model", "error=\"%s\"", err);
		goto out;
	}
	log_info("model written",
		 "path=%s bytes=%llu heldout_loss=%.4f "
		 "best_epoch=%d epochs=%d seconds=%.1f "
		 "chars_per_s=%.0f version=%s",
		 o.out, (unsigned long long)model_meta(m)->file_bytes,
		 res.heldout_loss, res.best_epoch, res.epochs, res.seconds,
		 res.chars_per_second, model_meta(m)->version);
	rc = 0;
out:
	model_free(m);
	dataset_free(&ds);
	free(alpha);
	free(ex);
	free(tokens);
	free(idx);
	free(train);
	free(data);
	free(countries);
	free(names);
	return rc;
}
