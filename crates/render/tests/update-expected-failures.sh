#!/bin/sh
# Regenerates conformance-expected-failures.txt from a conformance run:
#   cargo test -p driftless-render --test conformance 2>&1 | sh crates/render/tests/update-expected-failures.sh
# Reads the test's "unexpected failure:" lines on stdin and merges them with the
# current list, dropping entries reported as "now passing".
set -eu
list="$(dirname "$0")/conformance-expected-failures.txt"
tmp=$(mktemp)
cat > "$tmp"
{
  echo "# Conformance cases known to fail: <case> <reason>. The list may only shrink."
  {
    grep -v '^#' "$list" | grep -v '^$' || true
    sed -n 's/^unexpected failure: \([^:]*\): \(.*\)$/\1 \2/p' "$tmp" | cut -c1-200
  } | sort -u -k1,1 | while read -r name rest; do
    if ! grep -q "now passing, remove from conformance-expected-failures.txt: $name\$" "$tmp"; then
      echo "$name $rest"
    fi
  done
} > "$list.new"
mv "$list.new" "$list"
rm -f "$tmp"
