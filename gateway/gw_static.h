/* gw_static.h - the web page's files, served from one folder.
 *
 * Only regular files below the folder are served: a path is refused when
 * any segment is empty, ".", "..", starts with a dot, or holds a
 * backslash, a '%' (an escape the URL decoder kept, such as %00) or a
 * control byte; the file is then opened beneath the folder without
 * following symbolic links (openat2 RESOLVE_BENEATH where the kernel has
 * it), so neither "/../", "%2e%2e", encoded slashes nor NUL bytes reach
 * outside it. */
#ifndef GATEWAY_GW_STATIC_H
#define GATEWAY_GW_STATIC_H

#include <stddef.h>
#include <stdint.h>

#define GW_STATIC_PATH_MAX    1024
#define GW_STATIC_SEGMENT_MAX 255

struct gw_static {
	int root_fd; /* -1 when the folder does not exist */
};

struct gw_static_file {
	int fd; /* owned by the caller after a lookup */
	uint64_t size;
	const char *type;	/* Content-Type */
	const char *cache;	/* Cache-Control */
	char etag[48];		/* quoted */
	char last_modified[40]; /* IMF-fixdate */
};

/* gw_static_open opens dir. A missing folder is not an error: nothing is
 * served. Returns 0, or -1 with a sentence in err when dir exists but
 * cannot be opened. */
int gw_static_open(struct gw_static *s, const char *dir, char *err,
		   size_t errlen);

/* gw_static_close closes the folder; accepts one never opened. */
void gw_static_close(struct gw_static *s);

/* gw_static_path turns a decoded URL path into a relative file path in
 * out ("/" -> "index.html", "/a/" -> "a/index.html"). Returns 0, or -1
 * when the path is refused (see above). */
int gw_static_path(const char *url, char *out, size_t outlen);

/* gw_static_type returns the Content-Type for a file name's extension
 * (application/octet-stream when unknown). */
const char *gw_static_type(const char *path);

/* gw_static_lookup opens the file for url. Returns 0 with f filled (the
 * caller owns f->fd), or -1 when there is no such regular file or the
 * path is refused. */
int gw_static_lookup(const struct gw_static *s, const char *url,
		     struct gw_static_file *f);

#endif /* GATEWAY_GW_STATIC_H */
