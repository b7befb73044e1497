#!/usr/bin/env python3
"""soak_load.py - steady HTTP load on the gateway, every answer recorded.

Used by the fault tests (issue 9): a few client threads, each on its own
keep-alive connection, loop over a mix of requests (generate, score, me,
add favorite) for a while, as registered users. Every request's start,
duration, route and status is written to --log; every favorite the
gateway answered 200/201 for is written to --favorites as
"user_id<TAB>name", so the test can check PostgreSQL kept each one.

    soak_load.py --url URL --seconds 8 --threads 4 --log F --favorites F
                 [--mix names,score,me,fav] [--users 4] [--timeout 15]

With --relogin, a client whose session is refused (401: Redis lost it)
logs in again; the 401 and the login are in the log too.

Only the standard library; only the URL given (127.0.0.1)."""
import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse

COUNTRIES = ["DE", "IT", "SE", "FR", "ES", "US"]


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, url, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {}
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body, headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (http.client.RemoteDisconnected,
                    BrokenPipeError, ConnectionResetError) as e:
                # A keep-alive connection the server closed between two
                # requests: retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    return "conn:" + type(e).__name__, b""
            except OSError as e:
                self.conn.close()
                self.conn = None
                return "conn:" + type(e).__name__, b""
        return "conn:retry", b""


def register(client, tag, i):
    email = "soak-%s-%d@example.org" % (tag, i)
    pw = "soak-password-%d" % i
    st, body = client.request("POST", "/api/v1/users", {
        "username": "soak %s %d" % (tag, i), "email": email,
        "password": pw})
    if st != 201:
        raise SystemExit("register %s: %s %s" % (email, st, body[:200]))
    user = {"id": json.loads(body)["user"]["id"], "email": email,
            "password": pw, "token": None}
    if relogin(client, user) != 200:
        raise SystemExit("login %s failed" % email)
    return user


def relogin(client, user):
    """Logs user in again (sessions live in Redis and may be gone)."""
    st, body = client.request("POST", "/api/v1/session", {
        "email": user["email"], "password": user["password"]})
    if st == 200:
        user["token"] = json.loads(body)["token"]
    return st


def worker(n, args, users, out, favs, lock, stop):
    client = Client(args.url, args.timeout)
    rnd = random.Random(n)
    mix = args.mix.split(",")
    i = 0
    while not stop.is_set():
        op = mix[i % len(mix)]
        user = users[(n + i) % len(users)]
        uid, token = user["id"], user["token"]
        i += 1
        body, tok, method = None, None, "GET"
        if op == "names":
            path, method = "/api/v1/names", "POST"
            body = {"countries": [rnd.choice(COUNTRIES)],
                    "count": args.names_count}
        elif op == "score":
            path, method = "/api/v1/names/score", "POST"
            body = {"name": rnd.choice(["Maria", "Lars", "Jean"])}
        elif op == "me":
            path, tok = "/api/v1/me", token
        elif op == "login":
            path, method = "/api/v1/session", "POST"
            body = {"email": user["email"], "password": user["password"]}
        elif op == "fav":
            path, method, tok = "/api/v1/me/favorites", "PUT", token
            name = "Fav%sT%dN%d" % (args.tag, n, i)
            body = {"name": name, "country": "DE", "gender": "female"}
        else:
            raise SystemExit("unknown op " + op)
        t0 = time.time()
        st, data = client.request(method, path, body, tok)
        dt = time.time() - t0
        if op == "login" and st == 200:
            # a user keeps AUTH_SESSIONS_PER_USER sessions: use the newest
            user["token"] = json.loads(data)["token"]
        with lock:
            out.write("%.3f\t%.3f\t%s\t%s\n" % (t0, dt, op, st))
            if op == "fav" and st in (200, 201):
                favs.write("%d\t%s\n" % (uid, name))
        if st == 401 and args.relogin:
            # the session is gone (Redis lost it): log in again
            t0 = time.time()
            st = relogin(client, user)
            with lock:
                out.write("%.3f\t%.3f\tlogin\t%s\n" %
                          (t0, time.time() - t0, st))
        if args.pause:
            time.sleep(args.pause)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--users", type=int, default=4)
    p.add_argument("--mix", default="names,score,me,fav",
                   help="names, score, me, login, fav")
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--pause", type=float, default=0.02)
    p.add_argument("--tag", default=str(int(time.time() * 1000) % 10**9))
    p.add_argument("--names-count", type=int, default=3)
    p.add_argument("--relogin", action="store_true",
                   help="log in again when a session is refused")
    p.add_argument("--log", required=True)
    p.add_argument("--favorites", required=True)
    args = p.parse_args()

    setup = Client(args.url, args.timeout)
    users = [register(setup, args.tag, i) for i in range(args.users)]
    stop, lock = threading.Event(), threading.Lock()
    with open(args.log, "w") as out, open(args.favorites, "w") as favs:
        out.write("start\tseconds\top\tstatus\n")
        out.flush()
        ts = [threading.Thread(target=worker,
                               args=(n, args, users, out, favs, lock, stop))
              for n in range(args.threads)]
        for t in ts:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in ts:
            t.join()


if __name__ == "__main__":
    main()
