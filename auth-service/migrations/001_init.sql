-- 001_init.sql: users, the shared catalogue of names, and favorites.
-- Applied once by `auth-service --migrate`, in a transaction, under the
-- migration advisory lock (see migrate.c).

CREATE TABLE users (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username      text NOT NULL,
	email         text NOT NULL,
	password_hash text NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_email_key UNIQUE (email),
	CONSTRAINT users_email_lower CHECK (email = lower(email)),
	CONSTRAINT users_username_len
		CHECK (char_length(username) BETWEEN 1 AND 64)
);

-- A name as the model produced it: the same name for another country or
-- gender is another row. Rows are shared by every user who likes them.
CREATE TABLE names (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name    text NOT NULL,
	country text NOT NULL DEFAULT '',
	gender  smallint NOT NULL DEFAULT 0,
	CONSTRAINT names_key UNIQUE (name, country, gender),
	CONSTRAINT names_gender CHECK (gender BETWEEN 0 AND 2)
);

CREATE TABLE favorites (
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name_id    bigint NOT NULL REFERENCES names (id),
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (user_id, name_id)
);

-- ListFavorites walks this index newest first, from a cursor.
CREATE INDEX favorites_user_newest
	ON favorites (user_id, created_at DESC, name_id DESC);
