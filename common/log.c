/* log.c - logfmt lines on stdout. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A line longer than this is cut (Heroku splits lines over 10000 bytes). */
#define LOG_LINE_MAX 4096

int log_threshold = LOG_INFO;
static char log_process[32] = "namegen";

static const char *const log_names[] = {"debug", "info", "warn", "error",
					"fatal"};

int log_parse_level(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcasecmp(name, log_names[i]) == 0)
			return (int)i;
	if (strcasecmp(name, "warning") == 0)
		return LOG_WARN;
	if (strcasecmp(name, "off") == 0)
		return LOG_OFF;
	return -1;
}

int log_init(const char *process)
{
	const char *env = getenv("LOG_LEVEL");
	int level;

	snprintf(log_process, sizeof(log_process), "%s", process);
	/* stdout to a pipe is fully buffered; logs must arrive line by line */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!env || !*env)
		return 0;
	level = log_parse_level(env);
	if (level < 0)
		return -1;
	log_threshold = level;
	return 0;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
	const unsigned char *p;
	size_t n = 0;
	int bare = *s != '\0';

	for (p = (const unsigned char *)s; *p && bare; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7f)
			bare = 0;
	if (bare) {
		snprintf(buf, size, "%s", s);
		return buf;
	}

	/* room for the closing quote and the terminator */
	buf[n++] = '"';
	for (p = (const unsigned char *)s; *p && n + 6 < size; p++) {
		if (*p == '"' || *p == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)*p;
		} else if (*p == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (*p < ' ' || *p == 0x7f) {
			n +=
			    (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
		} else {
			buf[n++] = (char)*p;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

void log_write(int level, const char *msg, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	char qmsg[512];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level < LOG_DEBUG || level > LOG_FATAL)
		level = LOG_ERROR;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s "
		     "proc=%s msg=%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     log_names[level], log_process,
		     log_quote(qmsg, sizeof(qmsg), msg));
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 2;

	if (fmt && *fmt) {
		line[n++] = ' ';
		va_start(ap, fmt);
		m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 1)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stdout);
}
