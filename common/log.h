/* log.h - logfmt lines on stdout, one per event.
 *
 * Every line reads: ts=... level=... proc=... msg="..." then the caller's
 * fields. The level is checked before any argument is evaluated, and the
 * field format is a string literal checked by the compiler:
 *
 *     log_info("listening", "url=%s contexts=%d", url, n);
 *     log_warn("database down");
 *
 * Field values that may hold spaces or quotes go through log_quote().
 * Nothing here knows about names, users or HTTP. Thread-safe: each line is
 * written with a single fwrite on a line-buffered stdout. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3,
	LOG_FATAL = 4,
	LOG_OFF = 5
};

/* Lines below this level are skipped before their arguments are built. */
extern int log_threshold;

/* log_init sets the process name shown in proc=, makes stdout line
 * buffered (Heroku reads it through a pipe) and takes the threshold from
 * LOG_LEVEL (debug, info, warn, error; default info). Returns 0, or -1 when
 * LOG_LEVEL holds something else (the threshold then stays at info). */
int log_init(const char *process);

/* log_parse_level maps "debug".."error" (or "off") to a level; -1 if not. */
int log_parse_level(const char *name);

/* log_write prints one line; use the macros below instead. */
void log_write(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_quote writes s as a logfmt value: bare when it has no space, quote,
 * equals sign or control character, else in double quotes with \" \\ \n
 * escapes and other control bytes as \xNN. Truncates to fit buf (at least
 * 8 bytes) and returns buf. */
const char *log_quote(char *buf, size_t size, const char *s);

#define LOG_AT(level, msg, ...)                                               \
	do {                                                                  \
		if ((level) >= log_threshold)                                 \
			log_write((level), (msg), "" __VA_ARGS__);            \
	} while (0)

#define log_debug(msg, ...) LOG_AT(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  LOG_AT(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  LOG_AT(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) LOG_AT(LOG_ERROR, msg, __VA_ARGS__)
#define log_fatal(msg, ...) LOG_AT(LOG_FATAL, msg, __VA_ARGS__)

#endif /* COMMON_LOG_H */
