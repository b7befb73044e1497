/* gw_static.c - the web page's files, served from one folder. */
#include "gateway/gw_static.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int gw_static_open(struct gw_static *s, const char *dir, char *err,
		   size_t errlen)
{
	s->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 && errno != ENOENT) {
		snprintf(err, errlen, "WEB_ROOT: cannot open %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void gw_static_close(struct gw_static *s)
{
	if (s->root_fd >= 0)
		close(s->root_fd);
	s->root_fd = -1;
}

static int segment_ok(const char *seg, size_t len)
{
	size_t i;

	if (len == 0 || len > GW_STATIC_SEGMENT_MAX || seg[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)seg[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '%')
			return 0;
	}
	return 1;
}

int gw_static_path(const char *url, char *out, size_t outlen)
{
	const char *p, *end;
	size_t n = 0, len;

	if (!url || url[0] != '/' || strlen(url) > GW_STATIC_PATH_MAX)
		return -1;
	p = url + 1;
	while (*p) {
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (!segment_ok(p, len) || n + len + 2 > outlen)
			return -1;
		memcpy(out + n, p, len);
		n += len;
		if (!end)
			break;
		out[n++] = '/';
		p = end + 1;
	}
	/* a folder's page */
	if (n == 0 || out[n - 1] == '/') {
		if (n + sizeof("index.html") > outlen)
			return -1;
		memcpy(out + n, "index.html", sizeof("index.html"));
		return 0;
	}
	out[n] = '\0';
	return 0;
}

const char *gw_static_type(const char *path)
{
	static const char *const types[][2] = {
	    {"html", "text/html; charset=utf-8"},
	    {"htm", "text/html; charset=utf-8"},
	    {"css", "text/css; charset=utf-8"},
	    {"js", "text/javascript; charset=utf-8"},
	    {"mjs", "text/javascript; charset=utf-8"},
	    {"json", "application/json"},
	    {"map", "application/json"},
	    {"webmanifest", "application/manifest+json"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"svg", "image/svg+xml"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"webp", "image/webp"},
	    {"ico", "image/x-icon"},
	    {"woff", "font/woff"},
	    {"woff2", "font/woff2"},
	    {"wasm", "application/wasm"},
	    {"xml", "application/xml"},
	};
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	size_t i;

	if (!dot || (slash && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

/* open_beneath opens rel below root without leaving it and without
 * following links; falls back to O_NOFOLLOW on kernels without openat2
 * (the segment checks already keep ".." out). */
static int open_beneath(int root, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

int gw_static_lookup(const struct gw_static *s, const char *url,
		     struct gw_static_file *f)
{
	char rel[GW_STATIC_PATH_MAX + 16];
	struct stat st;
	struct tm tm;
	int fd;

	if (s->root_fd < 0 || gw_static_path(url, rel, sizeof(rel)) < 0)
		return -1;
	fd = open_beneath(s->root_fd, rel);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->type = gw_static_type(rel);
	/* the page, its modules and styles change together with each
	 * deploy, so a browser revalidates them (a 304 by ETag when they
	 * did not change) instead of mixing old and new modules; images
	 * and fonts are cached for an hour */
	f->cache = strncmp(f->type, "text/", 5) == 0 ||
			   strncmp(f->type, "application/json", 16) == 0
		       ? "no-cache"
		       : "public, max-age=3600";
	snprintf(f->etag, sizeof(f->etag), "\"%" PRIx64 "-%" PRIx64 "\"",
		 (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_size);
	gmtime_r(&st.st_mtim.tv_sec, &tm);
	strftime(f->last_modified, sizeof(f->last_modified),
		 "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return 0;
}
