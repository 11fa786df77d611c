#!/usr/bin/env bash
# Builds "mini-pile": a small real corpus in The Pile's format from Debian packages, with components in
# the spirit of The Pile's (dictionary prose, computing glossaries, fortunes, WordNet glosses, licences,
# Python code, man pages). Nothing is downloaded but Debian packages; nothing of it is committed.
#
#   bash scripts/build-mini-pile.sh [OUT]        # default OUT: artifacts/mini-pile
#
# Writes OUT/mini-pile.jsonl.zst (everything), OUT/train.jsonl.zst and OUT/held-out.jsonl.zst (split by
# document hash), OUT/{train,held-out}.{tokens,idx} (GPT-2 BPE, as GPT-Neo), OUT/zstd-baseline.md and
# OUT/MANIFEST (package versions and SHA-256 of every file). Deterministic: the same package versions
# give the same archive hashes (files are read in sorted order, zstd runs single-threaded at a fixed level).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

out="${1:-artifacts/mini-pile}"
held_out_fraction=0.02
# Dictionaries and gloss lists are one file each; cutting them at 8 Ki characters (at a blank line or a line
# end) gives documents of a web page's size, so the hash split spreads every component over both sides.
max_document_chars=8192
python_version=3.11
packages=(dict-gcide dict-foldoc dict-jargon fortunes fortunes-min wordnet-base base-files "libpython${python_version}-stdlib" manpages)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "build-mini-pile: missing packages: ${missing[*]}; install them with apt-get (as root) and re-run." >&2
    exit 2
  fi
  echo "build-mini-pile: installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{gcide,foldoc,jargon,fortunes,wordnet,legal,python,man} "$out"

# Files a package installed, regular files only (symlinks would duplicate documents), in sorted order.
package_files() {
  dpkg -L "$1" | while read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then echo "$f"; fi; done | sort
}
# grep that is not an error when nothing matches (a package may have no file of a kind).
select_files() { grep "$@" || true; }

# Dictionaries: the dictd databases are dictzip (gzip) text. GCIDE is ASCII but for three lines with
# Windows-1252 bytes; a file that is not UTF-8 is converted from Windows-1252 (exact for such a file).
for d in gcide foldoc jargon; do
  zcat "/usr/share/dictd/$d.dict.dz" > "$staging/$d/$d.txt"
  if ! iconv -f UTF-8 -t UTF-8 "$staging/$d/$d.txt" >/dev/null 2>&1; then
    iconv -f WINDOWS-1252 -t UTF-8 "$staging/$d/$d.txt" > "$staging/$d/$d.utf8" && mv "$staging/$d/$d.utf8" "$staging/$d/$d.txt"
  fi
done

# Fortunes: the text files (not the .dat indexes); one fortune per document (split at "\n%\n").
for p in fortunes fortunes-min; do
  package_files "$p" | select_files '^/usr/share/games/fortunes/' | select_files -v '\.dat$' | while read -r f; do
    cp "$f" "$staging/fortunes/$(basename "$f")"
  done
done

# WordNet: the gloss of every synset (the text after " | " in data.*; licence header lines start with two spaces).
for pos in noun verb adj adv; do
  awk -F' \\| ' '!/^  / && NF > 1 { print $2 }' "/usr/share/wordnet/data.$pos" > "$staging/wordnet/$pos.txt"
done

# Legal: the licence texts of base-files.
package_files base-files | select_files '^/usr/share/common-licenses/' | while read -r f; do cp "$f" "$staging/legal/"; done

# Code: Python's standard library sources.
package_files "libpython${python_version}-stdlib" | select_files '\.py$' | while read -r f; do
  mkdir -p "$staging/python$(dirname "$f")"
  cp "$f" "$staging/python$f"
done

# Man pages of the Linux man-pages project, as roff source.
package_files manpages | select_files '^/usr/share/man/.*\.gz$' | while read -r f; do
  mkdir -p "$staging/man$(dirname "$f")"
  zcat "$f" > "$staging/man${f%.gz}"
done

dotnet build src/Data.Cli -c Release -nologo -v quiet -m:1 >/dev/null
corpus=(dotnet src/Data.Cli/bin/Release/net10.0/hivemind-corpus.dll)
"${corpus[@]}" build --out "$out/mini-pile.jsonl.zst" --max-document-chars "$max_document_chars" \
  --component "GCIDE=$staging/gcide" \
  --component "FOLDOC=$staging/foldoc" \
  --component "Jargon File=$staging/jargon" \
  --component "Fortunes=$staging/fortunes" --split-at 'Fortunes=\n%\n' \
  --component "WordNet=$staging/wordnet" \
  --component "Legal=$staging/legal" \
  --component "Python stdlib=$staging/python" \
  --component "Man pages=$staging/man"
"${corpus[@]}" split --in "$out/mini-pile.jsonl.zst" --train "$out/train.jsonl.zst" --held-out "$out/held-out.jsonl.zst" \
  --held-out-fraction "$held_out_fraction"
"${corpus[@]}" tokenize --in "$out/train.jsonl.zst" --out "$out/train" --tokenizer gpt2
"${corpus[@]}" tokenize --in "$out/held-out.jsonl.zst" --out "$out/held-out" --tokenizer gpt2
"${corpus[@]}" baseline "$out/held-out.jsonl.zst" > "$out/zstd-baseline.md"

{
  dpkg-query -W -f '${Package} ${Version}\n' "${packages[@]}"
  (cd "$out" && sha256sum mini-pile.jsonl.zst train.jsonl.zst held-out.jsonl.zst train.tokens train.idx held-out.tokens held-out.idx)
} > "$out/MANIFEST"
cat "$out/MANIFEST"
cat "$out/zstd-baseline.md"
