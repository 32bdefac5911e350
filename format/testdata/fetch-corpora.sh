#!/bin/sh
# fetch-corpora.sh — download the third-party test corpora used by package format's
# tests from Debian (apt-get download + dpkg -x), as listed in
# shared/research/testbed.md §2a/§2e. Idempotent: packages already extracted are
# kept. The corpora are never committed.
#
# Usage: fetch-corpora.sh [DIR]   (default: $IEM_CORPORA, else ${TMPDIR:-/tmp}/iem-corpora)
set -eu

dir=${1:-${IEM_CORPORA:-${TMPDIR:-/tmp}/iem-corpora}}
mkdir -p "$dir/deb" "$dir/root"
# apt's _apt sandbox user must be able to write the download directory.
chmod 0777 "$dir/deb" 2>/dev/null || true

pkgs="golang-github-jhillyerd-enmime-dev python3-flufl.bounce golang-github-arran4-golang-ical-dev php-horde-icalendar evolution-data-server-tests python3-icalendar"

for p in $pkgs; do
	if [ -f "$dir/root/.done-$p" ]; then
		continue
	fi
	(cd "$dir/deb" && apt-get download -q "$p" >/dev/null 2>&1) || {
		echo "fetch-corpora: apt-get download $p failed" >&2
		exit 1
	}
	deb=$(ls "$dir/deb/${p}_"*.deb | head -n 1)
	dpkg -x "$deb" "$dir/root"
	touch "$dir/root/.done-$p"
done
echo "$dir/root"
