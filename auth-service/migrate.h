/* migrate.h - numbered SQL migrations, compiled into the binary.
 *
 * migrations/NNN_name.sql are embedded by embed-migrations.sh into
 * migrate_files[] in order. migrate_apply takes a session-level advisory
 * lock, creates schema_migrations when missing, and applies each file
 * not yet recorded there in its own transaction (the file and its record
 * commit together). Running it twice, or from two processes at once, is
 * safe: the second waits for the lock and then finds nothing to do. */
#ifndef AUTH_MIGRATE_H
#define AUTH_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

struct migrate_file {
	int version;	  /* NNN */
	const char *name; /* "001_init.sql" */
	const char *sql;
};

extern const struct migrate_file migrate_files[];
extern const int migrate_nfiles;

/* The advisory lock key: "namegen-migrate" folded into 64 bits. */
#define MIGRATE_LOCK_KEY 0x6e616d6567656e4dLL

/* migrate_apply brings the database of conn up to the newest migration.
 * Returns the number of migrations applied (0 when up to date), or -1
 * with a sentence in err (the failing migration's changes are rolled
 * back; earlier ones stay). */
int migrate_apply(PGconn *conn, char *err, size_t errlen);

/* migrate_version returns the newest applied version, 0 when none, or -1
 * with a sentence in err. */
int migrate_version(PGconn *conn, char *err, size_t errlen);

#endif /* AUTH_MIGRATE_H */
