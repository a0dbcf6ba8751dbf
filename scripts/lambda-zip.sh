#!/usr/bin/env bash
# Build `bootstrap` (the ddb binary, which serves Lambda when started under that name) into a
# deployment zip for the provided.al2023 runtime, and check it can start there: Amazon Linux
# 2023 ships glibc 2.34, so no symbol may need a newer GLIBC_ version.
#
#   scripts/lambda-zip.sh [x86_64|arm64]     -> target/lambda/ddb/bootstrap.zip
#   (`just lambda-zip arm64` and `just lambda-zip arch=arm64` both land here)
#
# Tools: cargo-lambda and zig (as the linker that targets an older glibc), both from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-x86_64}"
arch="${arch#arch=}"
glibc="2.34"
case "$arch" in
  x86_64) triple="x86_64-unknown-linux-gnu" ;;
  arm64 | aarch64) arch="arm64"; triple="aarch64-unknown-linux-gnu" ;;
  *) echo "error: unknown architecture '$arch' (expected x86_64 or arm64)" >&2; exit 2 ;;
esac

# The standard library for the target must be installed; it cannot be cross-built from here.
sysroot="$(rustc --print sysroot)"
if [ ! -d "$sysroot/lib/rustlib/$triple/lib" ]; then
  echo "error: the Rust standard library for $triple is not installed in $sysroot;" \
    "install it with \`rustup target add $triple\` (or your distribution's rust-std package for $triple), then run again" >&2
  exit 1
fi

# pip puts scripts in Python's scripts directory, which may not be on PATH (pyenv shims).
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
if ! command -v cargo-lambda >/dev/null 2>&1 || ! python3 -c 'import ziglang' >/dev/null 2>&1; then
  echo "== installing cargo-lambda and ziglang (PyPI)" >&2
  python3 -m pip install --quiet cargo-lambda ziglang
  hash -r
fi

echo "== cargo lambda build ($triple, glibc $glibc)" >&2
cargo lambda build --release --bin ddb --target "$triple.$glibc" --output-format zip >&2

zip_path="target/lambda/ddb/bootstrap.zip"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unzip -q -o "$zip_path" -d "$work"
[ -x "$work/bootstrap" ] || { echo "error: $zip_path has no executable bootstrap" >&2; exit 1; }

# The newest GLIBC_x.y the binary asks the dynamic linker for.
needed="$(objdump -T "$work/bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
if [ -z "$needed" ]; then
  echo "error: no GLIBC_ symbol versions found in bootstrap (is objdump from binutils installed?)" >&2
  exit 1
fi
if [ "$(printf '%s\n%s\n' "$needed" "$glibc" | sort -V | tail -n1)" != "$glibc" ]; then
  echo "error: bootstrap needs GLIBC_$needed, newer than Amazon Linux 2023's $glibc" >&2
  exit 1
fi
echo "$zip_path: $arch, $(du -k "$zip_path" | cut -f1) KiB, bootstrap needs at most GLIBC_$needed (limit $glibc)"
