#!/bin/bash
# deploy_promote.sh - deploy/promote against local bare repositories that
# stand in for origin and the two Heroku apps' git remotes.
#
# The fixture project has a test command (./check.sh) that fails when a
# file named BROKEN exists, so "tests fail" is a real failing command run
# on the merged tree. Every refusal is checked to push nothing and to
# leave the user's checkout as it was.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
promote=$root/deploy/promote

tmp=$(mktemp -d /tmp/namegen-promote-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@localhost
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
export PROMOTE_TEST_CMD=./check.sh
git config --global init.defaultBranch main
git config --global user.name tester
git config --global user.email tester@localhost

for r in origin heroku-staging heroku-production; do
	git init --quiet --bare "$tmp/$r.git"
done
work=$tmp/work
git init --quiet "$work"
cd "$work" || exit 1
printf '#!/bin/sh\n[ ! -e BROKEN ] || { echo "BROKEN exists"; exit 1; }\n' \
	>check.sh
chmod +x check.sh
printf 'line one\nline two\nline three\n' >app.txt
git add check.sh app.txt
git commit --quiet -m "first"
git branch dev
git branch staging
for r in origin heroku-staging heroku-production; do
	git remote add "$r" "$tmp/$r.git"
done
git push --quiet origin main dev staging
git checkout --quiet dev

# ref REPO BRANCH prints the commit a bare repository has for a branch.
ref() { git --git-dir="$tmp/$1.git" rev-parse --verify --quiet "$2"; }
# commit_on BRANCH FILE TEXT commits a change on origin's branch, pushes.
commit_on() {
	git fetch --quiet origin &&
		git checkout --quiet -B "$1" "origin/$1" &&
		printf '%s\n' "$3" >"$2" &&
		git add "$2" &&
		git commit --quiet -m "change $2 on $1" &&
		git push --quiet origin "$1" &&
		git checkout --quiet dev
}
# verdict WHAT passes when the command before it succeeded, else fails
# with promote's output.
verdict() {
	if [ $? -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1" "rc=$rc $(cat "$tmp/out")"
	fi
}
# refused WHAT PATTERN TARGET: promote TARGET must exit 1 with PATTERN in
# its output and leave every remote's refs as they were.
refused() {
	local before
	before=$(snapshot)
	"$promote" "$3" >"$tmp/out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q -- "$2" "$tmp/out" &&
		[ "$before" = "$(snapshot)" ]
	verdict "$1"
}
# snapshot prints every ref of the three bare repositories.
snapshot() {
	local r
	for r in origin heroku-staging heroku-production; do
		git --git-dir="$tmp/$r.git" for-each-ref \
			--format="$r %(refname) %(objectname)"
	done
}

# 1. Usage errors.
"$promote" >/dev/null 2>&1
[ $? -eq 2 ] && ok "no target: usage error (exit 2)" ||
	not_ok "no target: usage error (exit 2)"
"$promote" prod >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "unknown argument 'prod'" "$tmp/out"
verdict "unknown target named in the error"

# 2. Dry run: says what it would do, pushes nothing, runs no test.
commit_on dev feature.txt "feature 1"
dev1=$(ref origin dev)
before=$(snapshot)
touch "$tmp/ran"
PROMOTE_TEST_CMD="rm $tmp/ran" "$promote" --dry-run staging >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "fast-forward, 1 commit" "$tmp/out" &&
	grep -q "would push ${dev1:0:7} to origin staging and to heroku-st" \
		"$tmp/out"
verdict "dry run describes the fast-forward and the pushes"
[ "$before" = "$(snapshot)" ] && [ -e "$tmp/ran" ] &&
	ok "dry run pushed nothing and ran no test" ||
	not_ok "dry run pushed nothing and ran no test"

# 3. Staging: a fast-forward, pushed to origin staging and Heroku staging.
# A local commit not pushed yet is not promoted, and promote says so.
git checkout --quiet dev && echo wip >wip.txt && git add wip.txt &&
	git commit --quiet -m "local only"
"$promote" staging >"$tmp/out" 2>&1
rc=$?
what="an unpushed local commit is named, not promoted"
grep -q "local dev has 1 commit(s) not on origin" "$tmp/out" &&
	! git --git-dir="$tmp/origin.git" cat-file -e "staging:wip.txt" \
		2>/dev/null && ok "$what" || not_ok "$what" "$(cat "$tmp/out")"
git reset --quiet --hard HEAD~1
[ $rc -eq 0 ] && [ "$(ref origin staging)" = "$dev1" ] &&
	[ "$(ref heroku-staging main)" = "$dev1" ]
verdict "staging: origin staging and heroku-staging main are dev's"
[ -z "$(ref heroku-production main)" ] &&
	ok "staging left Heroku production alone" ||
	not_ok "staging left Heroku production alone"
[ "$(git rev-parse --abbrev-ref HEAD)" = dev ] &&
	[ -z "$(git worktree list | sed 1d)" ] &&
	ok "the checkout stays on dev and no worktree is left" ||
	not_ok "the checkout stays on dev and no worktree is left" \
		"$(git worktree list)"

# 4. Production: staging into main, pushed to origin and Heroku production.
"$promote" production >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(ref origin main)" = "$dev1" ] &&
	[ "$(ref heroku-production main)" = "$dev1" ]
verdict "production: origin main and heroku-production main are staging's"

# 5. A dirty work tree is refused.
commit_on dev feature.txt "feature 2"
echo "local edit" >>app.txt
refused "dirty work tree: refused, nothing pushed" "uncommitted changes" \
	staging
grep -q "local edit" app.txt && ok "the local edit is still there" ||
	not_ok "the local edit is still there"
git checkout --quiet -- app.txt

# 6. Failing tests are refused.
commit_on dev BROKEN "oops"
refused "failing tests: refused, nothing pushed" "tests failed" staging
grep -q "BROKEN exists" "$tmp/out" && ok "the test's own output is shown" ||
	not_ok "the test's own output is shown" "$(cat "$tmp/out")"
git checkout --quiet dev && git rm --quiet BROKEN &&
	git commit --quiet -m "fix" && git push --quiet origin dev

# 7. A clean merge that is not a fast-forward: a hotfix on staging, new
# work on dev in another file.
commit_on staging hotfix.txt "hotfix"
commit_on dev feature.txt "feature 3"
"$promote" staging >"$tmp/out" 2>&1
rc=$?
merged=$(ref origin staging)
[ $rc -eq 0 ] && grep -q "merge commit" "$tmp/out" &&
	[ "$(ref heroku-staging main)" = "$merged" ] &&
	[ "$(git --git-dir="$tmp/origin.git" show --no-patch --format=%P \
		"$merged" | wc -w)" -eq 2 ] &&
	git --git-dir="$tmp/origin.git" cat-file -e "$merged:hotfix.txt" &&
	[ "$(git --git-dir="$tmp/origin.git" show "$merged:feature.txt")" = \
		"feature 3" ]
verdict "clean merge: a merge commit with both changes, pushed to both"

# 8. A merge with conflicts is refused.
commit_on staging app.txt "staging's line"
commit_on dev app.txt "dev's line"
refused "conflicting merge: refused naming the file, nothing pushed" \
	"conflicts (in: app.txt" staging
[ -z "$(git status --porcelain)" ] && [ -z "$(git worktree list | sed 1d)" ] &&
	ok "after the refusal the checkout is clean and no worktree is left" ||
	not_ok "after the refusal the checkout is clean and no worktree is left"

# 9. A missing Heroku remote is refused before anything happens.
PROMOTE_PRODUCTION_REMOTE=heroku-nowhere refused \
	"missing Heroku remote: refused, named" \
	"no git remote 'heroku-nowhere'" production

# 10. A rejected Heroku push is reported as such (origin already moved).
git fetch --quiet origin
git checkout --quiet -B dev origin/staging
git push --quiet --force origin dev
commit_on dev feature.txt "feature 4"
printf '#!/bin/sh\nexit 1\n' >"$tmp/heroku-staging.git/hooks/pre-receive"
chmod +x "$tmp/heroku-staging.git/hooks/pre-receive"
"$promote" staging >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "origin staging is updated but the push to" \
	"$tmp/out" && [ "$(ref origin staging)" = "$(ref origin dev)" ]
verdict "rejected Heroku push: reported with the command to retry"
tap_done
