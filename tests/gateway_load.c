/* gateway_load.c - many concurrent HTTP clients mixing every kind of
 * request against a running gateway, checking every response.
 *
 *   gateway_load PORT CLIENTS SECONDS
 *
 * Each client is a thread with its own keep-alive connection (reopened
 * when the server closes it) that cycles through the mix below, starting
 * at a different point. GW_LOAD_TOKEN is a session token of a user named
 * GW_LOAD_USER; GW_LOAD_COUNTRY a country the model knows. Prints the
 * counts and the first wrong answers; exits 1 if any answer was wrong or
 * a connection failed. Not a benchmark: the point is correctness under
 * concurrency. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX    (256 * 1024)
#define WRONG_SHOWN 5

struct kind {
	const char *method;
	const char *path;
	const char *body;    /* "@" stands for the country */
	int auth;	     /* 1 bearer, 2 cookie */
	int status, status2; /* expected (status2 0 = only one) */
	const char *needle;  /* in the body; "@" stands for the user */
};

static const struct kind kinds[] = {
    {"GET", "/healthz", NULL, 0, 200, 0, "\"ok\""},
    {"GET", "/api/v1/meta", NULL, 0, 200, 0, "\"countries\":"},
    {"POST", "/api/v1/names", "{\"countries\":[\"@\"],\"count\":3}", 0, 200, 0,
     "\"names\":[{"},
    {"GET", "/api/v1/me", NULL, 1, 200, 0, "\"username\":\"@\""},
    {"PUT", "/api/v1/me/favorites", "{\"name\":\"Loadname\"}", 1, 200, 201,
     "\"favorite\":{"},
    {"GET", "/api/v1/me/favorites?limit=5", NULL, 1, 200, 0,
     "\"favorites\":["},
    {"POST", "/api/v1/names/score", "{\"name\":\"Anna\"}", 0, 200, 0,
     "\"name\":\"Anna\""},
    {"POST", "/api/v1/names", "{\"countries\":[", 0, 400, 0,
     "\"invalid_json\""},
    {"GET", "/api/v1/nope", NULL, 0, 404, 0, "\"not_found\""},
    {"GET", "/api/@me", NULL, 2, 200, 0, "\"username\":\"@\""},
    {"POST", "/api/name", "{\"countrycode\":\"@\",\"max_len\":12}", 0, 200, 0,
     "\""},
    {"GET", "/readyz", NULL, 0, 200, 0, "\"ready\""},
    {"DELETE", "/api/v1/me/favorites", "{\"name\":\"Gone\"}", 1, 200, 0,
     "\"removed\":false"},
    {"GET", "/api/v1/me", NULL, 0, 401, 0, "\"unauthenticated\""},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int port;
static const char *token, *user, *country;
static double until;
static atomic_ulong done, wrong, conn_fail;
static atomic_int shown;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fill copies tmpl into out[n] with each '@' replaced by value. */
static void fill(char *out, size_t n, const char *tmpl, const char *value)
{
	size_t len = 0, v = strlen(value);

	for (; *tmpl && len + 1 < n; tmpl++) {
		if (*tmpl == '@' && len + v + 1 < n) {
			memcpy(out + len, value, v);
			len += v;
		} else if (*tmpl != '@') {
			out[len++] = *tmpl;
		}
	}
	out[len] = '\0';
}

static int dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {30, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* exchange sends req and reads one response into buf; returns the
 * status, sets *body and *close_after, or -1 on a transport failure. */
static int exchange(int fd, const char *req, size_t len, char *buf,
		    char **body, int *close_after)
{
	size_t have = 0, need = 0;
	char *end = NULL, *cl;
	ssize_t n;

	if (write(fd, req, len) != (ssize_t)len)
		return -1;
	for (;;) {
		if (have == RESP_MAX - 1)
			return -1;
		n = read(fd, buf + have, RESP_MAX - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if (!end) {
			end = strstr(buf, "\r\n\r\n");
			if (!end)
				continue;
			cl = strcasestr(buf, "\r\nContent-Length:");
			need =
			    (size_t)(end - buf) + 4 +
			    (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			*close_after =
			    strcasestr(buf, "\r\nConnection: close") != NULL;
		}
		if (have >= need)
			break;
	}
	*body = end + 4;
	return atoi(buf + 9);
}

static void report(const struct kind *k, int status, const char *body)
{
	if (atomic_fetch_add(&shown, 1) >= WRONG_SHOWN)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# wrong: %s %s -> %d %.200s\n", k->method, k->path, status,
	       body ? body : "(no body)");
	pthread_mutex_unlock(&out_lock);
}

static void *client(void *arg)
{
	long id = (long)arg;
	char *buf = malloc(RESP_MAX), req[2048], body[512], needle[256];
	char *rbody;
	int fd = -1, status, close_after = 0, n;
	size_t i = (size_t)id;

	if (!buf)
		return NULL;
	while (now() < until) {
		const struct kind *k = &kinds[i++ % NKINDS];
		char auth[400] = "";

		if (fd < 0 && (fd = dial()) < 0) {
			atomic_fetch_add(&conn_fail, 1);
			usleep(10000);
			continue;
		}
		fill(body, sizeof(body), k->body ? k->body : "", country);
		if (k->auth == 1)
			snprintf(auth, sizeof(auth),
				 "Authorization: Bearer %s\r\n", token);
		else if (k->auth == 2)
			snprintf(auth, sizeof(auth), "Cookie: session=%s\r\n",
				 token);
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
			     "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     k->method, k->path, auth, strlen(body), body);
		status =
		    exchange(fd, req, (size_t)n, buf, &rbody, &close_after);
		if (status < 0) {
			atomic_fetch_add(&conn_fail, 1);
			report(k, -1, NULL);
			close(fd);
			fd = -1;
			continue;
		}
		fill(needle, sizeof(needle), k->needle, user);
		atomic_fetch_add(&done, 1);
		if ((status != k->status && status != k->status2) ||
		    !strstr(rbody, needle)) {
			atomic_fetch_add(&wrong, 1);
			report(k, status, rbody);
		}
		if (close_after) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *th;
	double t0, secs;
	long n, i;

	if (argc != 4) {
		fprintf(stderr, "usage: gateway_load PORT CLIENTS SECONDS\n");
		return 2;
	}
	port = atoi(argv[1]);
	n = atol(argv[2]);
	secs = atof(argv[3]);
	token = getenv("GW_LOAD_TOKEN");
	user = getenv("GW_LOAD_USER");
	country = getenv("GW_LOAD_COUNTRY");
	if (!token || !user || !country || n < 1 || n > 2000) {
		fprintf(stderr, "GW_LOAD_TOKEN, GW_LOAD_USER, GW_LOAD_COUNTRY "
				"and 1..2000 clients are needed\n");
		return 2;
	}
	th = calloc((size_t)n, sizeof(*th));
	if (!th)
		return 2;
	t0 = now();
	until = t0 + secs;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, client, (void *)i) != 0) {
			fprintf(stderr, "cannot start client %ld\n", i);
			return 2;
		}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("clients=%ld seconds=%.1f requests=%lu wrong=%lu "
	       "connection_failures=%lu requests_per_s=%.0f\n",
	       n, now() - t0, atomic_load(&done), atomic_load(&wrong),
	       atomic_load(&conn_fail),
	       (double)atomic_load(&done) / (now() - t0));
	free(th);
	return atomic_load(&wrong) || atomic_load(&conn_fail) ||
		       !atomic_load(&done)
		   ? 1
		   : 0;
}
